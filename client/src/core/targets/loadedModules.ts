// The modules loaded on a target, with their parameters' current values from sysfs, in one remote
// command; and unloading one by name. Used by the editor's Modules view; no vscode import.
import { shellQuote } from './quote';
import { STEP_TIMEOUTS_MS, type Target } from './session';

export interface LoadedModule {
  name: string;
  size: number;
  /** How many users hold it (`lsmod`'s "Used by" count). */
  refcount: number;
  usedBy: string[];
  /** Live, Loading or Unloading. */
  state: string;
  params: Array<{ name: string; value: string }>;
}

/** Longest parameter value read (a charp can be long; the view shows a line). */
const MAX_VALUE_BYTES = 256;
const SECTION = '--- lkm parameters ---';

/**
 * /proc/modules, then `module<TAB>param<TAB>value` for each readable parameter of a loaded module
 * (built-in code has parameters too, but no /proc/modules line). POSIX sh and busybox alike.
 */
export const LOADED_MODULES_SCRIPT = [
  'cat /proc/modules',
  `echo '${SECTION}'`,
  'while read -r m _; do',
  '  for p in /sys/module/"$m"/parameters/*; do',
  '    [ -f "$p" ] && [ -r "$p" ] || continue',
  `    printf '%s\\t%s\\t' "$m" "\${p##*/}"; head -c ${MAX_VALUE_BYTES} "$p" 2>/dev/null | tr '\\n\\t' '  '; echo`,
  '  done',
  'done < /proc/modules',
].join('\n');

/** Parses what LOADED_MODULES_SCRIPT prints; modules sorted by name. */
export function parseLoadedModules(output: string): LoadedModule[] {
  const [procModules = '', paramLines = ''] = output.split(`${SECTION}\n`);
  const modules = new Map<string, LoadedModule>();
  for (const line of procModules.split('\n')) {
    // name size refcount deps state address [taints]
    const fields = line.trim().split(/\s+/);
    if (fields.length < 5 || !/^\d+$/.test(fields[1]!)) continue;
    const usedBy = fields[3] === '-' ? [] : fields[3]!.split(',').filter(Boolean);
    modules.set(fields[0]!, { name: fields[0]!, size: Number(fields[1]), refcount: Number(fields[2]), usedBy, state: fields[4]!, params: [] });
  }
  for (const line of paramLines.split('\n')) {
    const [module, name, ...rest] = line.split('\t');
    if (!module || !name) continue;
    modules.get(module)?.params.push({ name, value: rest.join('\t').trimEnd() });
  }
  return [...modules.values()].sort((a, b) => a.name.localeCompare(b.name));
}

export async function listModulesWithParams(target: Target, signal?: AbortSignal): Promise<LoadedModule[]> {
  const result = await target.connection.exec(LOADED_MODULES_SCRIPT, { timeoutMs: STEP_TIMEOUTS_MS.command, signal });
  if (result.code !== 0) throw new Error(`listing modules on ${target.name} failed: ${(result.stderr || result.stdout).trim().split('\n').pop()}`);
  return parseLoadedModules(result.stdout);
}

/** rmmod by name (through sudo -n when the target says so); the error names rmmod's own message. */
export async function unloadModule(target: Target, name: string, signal?: AbortSignal): Promise<void> {
  if (!/^[\w-]+$/.test(name)) throw new Error(`not a module name: ${name}`);
  const command = `${target.sudo ? 'sudo -n ' : ''}rmmod -- ${shellQuote(name)}`;
  const result = await target.connection.exec(command, { timeoutMs: STEP_TIMEOUTS_MS.load, signal });
  if (result.code !== 0) throw new Error(`rmmod ${name} on ${target.name}: ${(result.stderr || result.stdout).trim() || `exit ${result.code}`}`);
}
