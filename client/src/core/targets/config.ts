// Target settings (`lkm.targets`, `lkm.activeTarget`, `lkm.moduleParams`): validation with clear
// errors, and reading them from a workspace's .vscode/settings.json for the `lkm` CLI.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseJsonc, printParseErrorCode, type ParseError } from 'jsonc-parser';

/** A mistake in how lkm was called or configured (exit 2): a bad setting, an unknown target, a folder that is no module folder. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface TargetConfig {
  name: string;
  /** An ssh_config alias or user@host. */
  host: string;
  port?: number;
  /** Where sources and modules go on the target; default: a per-workspace folder under the user's home. */
  remoteDir?: string;
  build: 'remote' | 'local';
  /** Local builds: the target kernel's build dir. */
  kdir?: string;
  /** Run insmod/rmmod/dmesg through `sudo -n`. */
  sudo?: boolean;
  /** An ssh_config file read instead of ~/.ssh/config (ssh -F), e.g. one that includes `lkm vm ssh-config` output. */
  sshConfig?: string;
}

/** The name under which the built-in QEMU guest appears among targets. */
export const TEST_VM_TARGET = 'test-vm';

export interface TargetSettings {
  targets: TargetConfig[];
  activeTarget?: string;
  /** Per module: parameter name → value, used by load/reload. */
  moduleParams: Record<string, Record<string, string>>;
}

export function validateTargets(raw: unknown): TargetConfig[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new Error('lkm.targets must be an array of targets');
  const seen = new Set<string>();
  return raw.map((item, index) => {
    const where = `lkm.targets[${index}]`;
    if (typeof item !== 'object' || item === null) throw new Error(`${where} must be an object`);
    const t = item as Record<string, unknown>;
    if (typeof t.name !== 'string' || !/^[\w.-]+$/.test(t.name)) throw new Error(`${where}.name must be a word (letters, digits, _ . -)`);
    if (t.name === TEST_VM_TARGET) throw new Error(`${where}.name "${TEST_VM_TARGET}" is reserved for the built-in test VM`);
    if (seen.has(t.name)) throw new Error(`${where}.name "${t.name}" is used twice`);
    seen.add(t.name);
    const host = validateHost(t.host, `${where}.host`);
    if (t.port !== undefined && (!Number.isInteger(t.port) || (t.port as number) < 1 || (t.port as number) > 65535)) throw new Error(`${where}.port must be 1-65535`);
    const build = t.build ?? 'remote';
    if (build !== 'remote' && build !== 'local') throw new Error(`${where}.build must be "remote" or "local"`);
    if (build === 'local' && typeof t.kdir !== 'string') throw new Error(`${where}.kdir is required for local builds (the target kernel's build dir)`);
    if (t.remoteDir !== undefined) validateRemoteDir(t.remoteDir, `${where}.remoteDir`);
    if (t.sudo !== undefined && typeof t.sudo !== 'boolean') throw new Error(`${where}.sudo must be true or false`);
    if (t.sshConfig !== undefined && (typeof t.sshConfig !== 'string' || !path.isAbsolute(t.sshConfig) || /[\0\n]/.test(t.sshConfig))) {
      throw new Error(`${where}.sshConfig must be the absolute path of an ssh_config file`);
    }
    if ('password' in t) throw new Error(`${where}: passwords are not supported in settings; use an SSH key or agent`);
    return {
      name: t.name,
      host,
      port: t.port as number | undefined,
      remoteDir: t.remoteDir as string | undefined,
      build,
      kdir: t.kdir as string | undefined,
      sudo: t.sudo as boolean | undefined,
      sshConfig: t.sshConfig as string | undefined,
    };
  });
}

/** A user or host name: letters, digits, _ . - and never a leading - (which ssh would read as an option). */
const NAME = '[A-Za-z0-9_][A-Za-z0-9_.-]*';
/** [user@]host, host an ssh_config alias, a DNS name, an IPv4 or an IPv6 address. */
const HOST = new RegExp(`^(?:${NAME}@)?(?:${NAME}|[0-9A-Fa-f]*:[0-9A-Fa-f:.]*)$`);

/**
 * A target's host, strictly: it reaches ssh's command line and rsync's destination, so nothing a
 * shell, ssh or rsync reads specially (; $() ` spaces, a leading -, % tokens, :) gets through.
 */
export function validateHost(value: unknown, where = 'host'): string {
  if (typeof value !== 'string' || !HOST.test(value)) {
    throw new Error(`${where} must be an ssh config alias, a host name or an IP address, optionally with user@ in front (letters, digits, _ . -, not starting with -): got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Top-level folders of the system: never a place for a module's work files. */
const SYSTEM_DIRS = /^(bin|boot|dev|etc|lib|lib32|lib64|libx32|proc|run|sbin|snap|sys|usr|var)$/;

/**
 * remoteDir is where the loop writes, as the target user (root with sudo or on the test VM): a
 * dedicated work folder. Refused: parent references, `~`, the root, a top-level folder itself, the
 * system's folders, a home itself and a home's hidden folders (~/.ssh, ~/.config, …) except below .cache.
 */
export function validateRemoteDir(value: unknown, where = 'remoteDir'): string {
  if (typeof value !== 'string' || value.trim() === '') throw new Error(`${where} must be a non-empty path`);
  if (value.includes('\0') || value.includes('\n')) throw new Error(`${where} must not contain NUL or newline characters`);
  const parts = value.split('/').filter((p) => p && p !== '.');
  if (parts.includes('..')) throw new Error(`${where} must not contain ".."`);
  const refuse = (why: string) =>
    new Error(`${where} "${value}" ${why}; use a dedicated work folder such as lkm-work (relative paths are below the target user's home) or /tmp/lkm-work`);
  if (value.startsWith('~')) throw refuse('starts with ~ (write a path relative to the home instead)');
  if (parts.length === 0) throw refuse(value.startsWith('/') ? 'is the root folder, other than / is required' : 'is the home itself');
  const absolute = value.startsWith('/');
  if (absolute && SYSTEM_DIRS.test(parts[0])) throw refuse(`is a system folder (/${parts[0]})`);
  if (absolute && parts.length === 1) throw refuse('is a top-level folder itself');
  const belowHome = !absolute ? parts : parts[0] === 'root' ? parts.slice(1) : parts[0] === 'home' ? parts.slice(2) : undefined;
  if (belowHome?.length === 0) throw refuse('is a home folder itself');
  if (belowHome && belowHome[0].startsWith('.') && !(belowHome[0] === '.cache' && belowHome.length > 1)) throw refuse(`is in the home's settings (${belowHome[0]})`);
  return value;
}

export function validateModuleParams(raw: unknown): Record<string, Record<string, string>> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new Error('lkm.moduleParams must map module names to { parameter: value }');
  const result: Record<string, Record<string, string>> = {};
  for (const [module, params] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof params !== 'object' || params === null || Array.isArray(params)) throw new Error(`lkm.moduleParams.${module} must be an object`);
    result[module] = Object.fromEntries(Object.entries(params as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
  }
  return result;
}

/** Reads lkm.* target settings from the nearest .vscode/settings.json at or above `dir`. */
export function readWorkspaceTargetSettings(dir: string): TargetSettings {
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    const file = path.join(current, '.vscode', 'settings.json');
    if (existsSync(file)) {
      const errors: ParseError[] = [];
      const json = parseJsonc(readFileSync(file, 'utf8'), errors, { allowTrailingComma: true }) as Record<string, unknown> | undefined;
      if (errors.length) throw new Error(`${file}: ${printParseErrorCode(errors[0].error)} at offset ${errors[0].offset}`);
      return {
        targets: validateTargets(json?.['lkm.targets']),
        activeTarget: typeof json?.['lkm.activeTarget'] === 'string' ? (json['lkm.activeTarget'] as string) : undefined,
        moduleParams: validateModuleParams(json?.['lkm.moduleParams']),
      };
    }
    if (path.dirname(current) === current) return { targets: [], moduleParams: {} };
  }
}

/** The target called `name` (or the active one); undefined means the built-in test VM. */
export function pickTarget(settings: TargetSettings, name?: string): TargetConfig | undefined {
  const wanted = name ?? settings.activeTarget;
  if (!wanted || wanted === TEST_VM_TARGET) return undefined;
  const found = settings.targets.find((t) => t.name === wanted);
  if (!found) {
    const known = [TEST_VM_TARGET, ...settings.targets.map((t) => t.name)].join(', ');
    throw new UsageError(`no target named "${wanted}" (known: ${known})`);
  }
  return found;
}
