// What the Microsoft C/C++ extension asks a custom configuration provider for one file — include
// paths, defines, forced includes, compiler path and arguments — read from that file's entry of the
// compilation database (kbuild's own command line). A header, or a file not compiled yet, gets the
// command of the nearest compiled file (the same folder first), as clangd does. No vscode import.
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import type { CompileCommand } from './compdb';

/** The fields of vscode-cpptools' SourceFileConfiguration this provider answers. */
export interface CppConfiguration {
  includePath: string[];
  defines: string[];
  forcedInclude: string[];
  compilerPath: string;
  /** The remaining flags: cpptools passes them to the compiler when it asks for its built-in macros. */
  compilerArgs: string[];
  standard?: string;
  intelliSenseMode: string;
}

const INCLUDE_DIR_FLAGS = ['-I', '-isystem', '-idirafter', '-iquote'];
const STANDARDS = /^(?:c|gnu)(?:89|99|11|17|23)$/;

/** The configuration kbuild's command line gives (relative paths resolved against its directory). */
export function cppConfiguration(command: CompileCommand): CppConfiguration {
  const [compiler, ...args] = command.arguments;
  const config: CppConfiguration = { includePath: [], defines: [], forcedInclude: [], compilerPath: resolveCompiler(compiler), compilerArgs: [], intelliSenseMode: intelliSenseMode(command.arguments) };
  const resolve = (p: string) => path.resolve(command.directory, p);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const [flag, value, used] = splitFlag(arg, args[i + 1]);
    i += used;
    if (INCLUDE_DIR_FLAGS.includes(flag)) config.includePath.push(resolve(value));
    else if (flag === '-D') config.defines.push(value);
    else if (flag === '-U') config.defines = config.defines.filter((d) => d.split('=')[0] !== value);
    else if (flag === '-include') config.forcedInclude.push(resolve(value));
    else if (flag === '-o' || arg === '-c' || resolve(arg) === command.file) continue;
    else if (arg.startsWith('-std=') && STANDARDS.test(arg.slice('-std='.length))) config.standard = arg.slice('-std='.length);
    else config.compilerArgs.push(arg);
  }
  return config;
}

/** `-Ifoo`/`-I foo`, `-DX`/`-D X`, `-include f`, `-o f` → [flag, value, words consumed after arg]. */
function splitFlag(arg: string, next: string | undefined): [string, string, number] {
  for (const flag of [...INCLUDE_DIR_FLAGS, '-include', '-D', '-U', '-o']) {
    if (arg === flag) return [flag, next ?? '', 1];
    if (arg.startsWith(flag) && flag.length === 2) return [flag, arg.slice(2), 0];
  }
  return [arg, '', 0];
}

/** The command for `file`: its own entry, else the nearest compiled file's (most path in common). */
export function commandForFile(commands: readonly CompileCommand[], file: string): CompileCommand | undefined {
  const own = commands.find((c) => c.file === file);
  if (own) return own;
  let best: CompileCommand | undefined;
  let bestShared = -1;
  for (const c of commands) {
    const shared = sharedPrefixLength(path.dirname(c.file), path.dirname(file));
    if (shared > bestShared) [best, bestShared] = [c, shared];
  }
  if (!best) return undefined;
  // The same flags, compiling this file instead.
  return { ...best, file, arguments: best.arguments.map((a) => (a === best!.file ? file : a)) };
}

function sharedPrefixLength(a: string, b: string): number {
  const x = a.split(path.sep);
  const y = b.split(path.sep);
  let n = 0;
  while (n < x.length && n < y.length && x[n] === y[n]) n++;
  return n;
}

/** The compiler's full path (cpptools asks it for its built-in macros and include folders). */
function resolveCompiler(compiler: string): string {
  if (compiler.includes('/')) return compiler;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, compiler);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this PATH entry
    }
  }
  return compiler;
}

/** linux-{gcc,clang}-{x64,x86,arm64,arm}, from the compiler's name and -m32/-m64. */
function intelliSenseMode(args: readonly string[]): string {
  const compiler = path.basename(args[0] ?? '');
  const family = /clang/.test(compiler) ? 'clang' : 'gcc';
  const arch = /aarch64|arm64/.test(compiler) ? 'arm64' : /arm/.test(compiler) ? 'arm' : args.includes('-m32') ? 'x86' : 'x64';
  return `linux-${family}-${arch}`;
}
