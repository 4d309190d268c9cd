// Local names for one object: a variable only ever assigned one access path whose root never changes
// (`p = dev->info;`, `lock = &d->lock;`, re-read from the same path before each use), names the same
// object wherever it is used. Lock ids are
// written through that path, so `mutex_lock(&p->m)` and `mutex_unlock(&dev->info->m)` are one lock, and
// a helper's summary names the lock through its parameters, which its callers can rewrite.
import type { Node } from 'web-tree-sitter';
import type { Cfg } from './cfg';
import { normalizeLockExpression } from './lockState';

const ACCESS_PATH = /^&?\(?[A-Za-z_]\w*\)?(?:(?:->|\.)[A-Za-z_]\w*|\[\w+\])*$/;
const ROOTED = /^(&?)([A-Za-z_]\w*)(.*)$/;
const MAX_DEPTH = 4;

/** Single-assignment variables of the function and the access path each stands for. */
export function singleAssignmentAliases(cfg: Cfg, textOf: (node: Node) => string): Map<string, string> {
  const assignments = new Map<string, string | null>();
  const addressTaken = new Set<string>();
  for (const node of cfg.nodes) {
    for (const event of node.events) {
      if (event.kind === 'assign') {
        const path = event.value && !event.within ? textOf(event.value).replace(/\s+/g, '') : null;
        // Assigned again from the same path (re-read before each use) is still one name for that path.
        const earlier = assignments.get(event.variable);
        const same = earlier === undefined ? !assignments.has(event.variable) : earlier === path;
        assignments.set(event.variable, same && path && ACCESS_PATH.test(path) ? path : null);
      } else if (event.kind === 'call') {
        // `lookup(&p)` may store into p.
        for (const arg of event.args) if (arg.type === 'pointer_expression' && /^&\s*[A-Za-z_]\w*$/.test(arg.text)) addressTaken.add(arg.text.replace(/^&\s*/, ''));
      }
    }
  }
  const aliases = new Map<string, string>();
  for (const [variable, path] of assignments) {
    if (path === null || addressTaken.has(variable)) continue;
    const resolved = resolve(path, assignments, addressTaken, MAX_DEPTH);
    if (resolved !== undefined && resolved !== variable) aliases.set(variable, resolved);
  }
  return aliases;
}

/** The path with its root rewritten while the root is itself an alias; undefined if the root changes. */
function resolve(path: string, assignments: ReadonlyMap<string, string | null>, addressTaken: ReadonlySet<string>, depth: number): string | undefined {
  const root = ROOTED.exec(path.replace(/^(&?)\((\w+)\)/, '$1$2'))?.[2];
  if (root === undefined) return undefined;
  if (!assignments.has(root)) return addressTaken.has(root) ? undefined : path;
  const inner = assignments.get(root);
  if (inner === null || inner === undefined || depth === 0) return undefined;
  const expanded = resolve(inner, assignments, addressTaken, depth - 1);
  return expanded === undefined ? undefined : substitute(path, expanded);
}

/** A lock id with an alias at its root written through the path the alias stands for. */
export function canonicalLockId(id: string, aliases: ReadonlyMap<string, string>): string {
  if (aliases.size === 0) return id;
  const match = ROOTED.exec(id);
  const path = match ? aliases.get(match[2]!) : undefined;
  return path === undefined ? id : normalizeLockExpression(substitute(id, path));
}

/** `&p->m` with p = `&d->sub` is `&d->sub.m`; with p = `dev->info`, `&dev->info->m`. */
function substitute(id: string, path: string): string {
  const [, address = '', , rest = ''] = ROOTED.exec(id)!;
  if (rest === '') return address === '' ? path : id;
  if (rest.startsWith('->') && path.startsWith('&')) return `${address}${path.slice(1)}.${rest.slice(2)}`;
  if (rest.startsWith('->') || rest.startsWith('[')) return `${address}${path}${rest}`;
  return id;
}

/**
 * Locals declared at the top of the body from an access path (`struct drm_device *dev = obj->dev;`),
 * reassigned later or not: on entry they name that path, which is how a caller names the lock a
 * function releases for it.
 */
export function entryNames(cfg: Cfg, body: Node, textOf: (node: Node) => string): Map<string, string> {
  const names = new Map<string, string>();
  for (const node of cfg.nodes) {
    for (const event of node.events) {
      if (event.kind !== 'assign' || event.node.type !== 'init_declarator' || !event.value) continue;
      if (event.node.parent?.parent?.id !== body.id) continue;
      const path = textOf(event.value).replace(/\s+/g, '');
      if (ACCESS_PATH.test(path) && !names.has(event.variable)) names.set(event.variable, path);
    }
  }
  return names;
}
