// Debian's clangd (`apt-get install clangd`) run as `clangd --check=FILE`: the error diagnostics it
// reports for the file with whatever compile_commands.json it finds (errors are its `E[…] [code] Line N:` lines).
import { runProcess } from '../../client/src/core/targets/process';

const CHECK_TIMEOUT_MS = 180_000;

export interface ClangdError {
  code: string;
  line: number;
  message: string;
}

export async function clangdErrors(file: string): Promise<ClangdError[]> {
  // --check-lines=1: the diagnostics cover the whole file either way; the per-token feature checks
  // that --check also runs would only add time.
  const result = await runProcess('clangd', [`--check=${file}`, '--check-lines=1'], { timeoutMs: CHECK_TIMEOUT_MS });
  if (result.timedOut) throw new Error(`clangd --check=${file} took over ${CHECK_TIMEOUT_MS / 1000} s`);
  const log = `${result.stdout}${result.stderr}`;
  const summary = /All checks completed, (\d+) errors/.exec(log);
  if (!summary) throw new Error(`clangd --check=${file} did not complete (exit ${result.code}):\n${log.slice(-2000)}`);
  const errors = [...log.matchAll(/^E\[[^\]]*\] \[([\w.-]+)\] Line (\d+): (.*)$/gm)].map((m) => ({ code: m[1], line: Number(m[2]), message: m[3] }));
  // Its count and the lines we read must agree, or the parsing here is wrong.
  if (errors.length !== Number(summary[1])) throw new Error(`clangd reported ${summary[1]} errors but ${errors.length} were read:\n${log.slice(-3000)}`);
  return errors;
}
