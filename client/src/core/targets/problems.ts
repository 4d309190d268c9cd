// Problems found by the loop: compiler/modpost diagnostics from kbuild output and kernel reports
// (BUG, Oops, WARNING, Unknown symbol, taint, ...) from the kernel log, at local file:line.
import path from 'node:path';

export type Severity = 'error' | 'warning' | 'info';

export interface Frame {
  func: string;
  offset: number;
  length: number;
  module?: string;
  /** `?` frames in a call trace are stack words the unwinder could not confirm. */
  reliable: boolean;
  /** The RIP line's frame: the faulting instruction itself rather than a return address. */
  isFaultingIp: boolean;
  raw: string;
  file?: string;
  line?: number;
  /**
   * When the address is in code inlined into the function (a header's helper), the inline chain,
   * innermost first; file/line above are then the innermost entry in the module's own sources.
   */
  inlined?: InlineLocation[];
}

export interface InlineLocation {
  func: string;
  file: string;
  line: number;
}

export interface Problem {
  source: 'kbuild' | 'kernel';
  severity: Severity;
  message: string;
  file?: string;
  line?: number;
  column?: number;
  /** Kernel reports: the whole report text and its frames (decoded when the module's .ko was at hand). */
  report?: string[];
  frames?: Frame[];
  module?: string;
  /** A kernel-detected bug (BUG, Oops, GPF, panic, KASAN, invalid-context sleep, stall). */
  crash?: boolean;
}

/** Maps paths seen in the build (a mirror dir or the remote dir) back to the local folder. */
export interface PathMapping {
  from: string;
  to: string;
}

export function mapPath(file: string, mappings: PathMapping[]): string {
  for (const m of mappings) {
    const from = m.from.replace(/\/+$/, '');
    if (file === from) return m.to;
    if (file.startsWith(`${from}/`)) return path.join(m.to, file.slice(from.length + 1));
  }
  return file;
}

const GCC_DIAGNOSTIC = /^(.+?):(\d+):(?:(\d+):)? (fatal error|error|warning|note): (.*)$/;
const MODPOST = /^(ERROR|WARNING): modpost: (.*)$/;
const NOISE = /Skipping BTF generation/;

/** Compiler and modpost diagnostics from kbuild output, with paths mapped to local files. */
export function parseKbuildOutput(output: string, mappings: PathMapping[]): Problem[] {
  const problems: Problem[] = [];
  for (const line of output.split('\n')) {
    if (NOISE.test(line)) continue;
    const gcc = GCC_DIAGNOSTIC.exec(line);
    if (gcc) {
      const [, file, lineNo, col, kind, message] = gcc;
      if (kind === 'note' && problems.length) continue; // notes elaborate the previous diagnostic
      problems.push({
        source: 'kbuild',
        severity: kind === 'warning' ? 'warning' : 'error',
        message,
        file: mapPath(file, mappings),
        line: Number(lineNo),
        column: col ? Number(col) : undefined,
      });
      continue;
    }
    const modpost = MODPOST.exec(line);
    if (modpost) {
      problems.push({ source: 'kbuild', severity: modpost[1] === 'ERROR' ? 'error' : 'warning', message: `modpost: ${mapPaths(modpost[2], mappings)}` });
    }
  }
  return problems;
}

function mapPaths(text: string, mappings: PathMapping[]): string {
  return text.replace(/\/[^\s\]"']+/g, (p) => mapPath(p, mappings));
}

/** `file:line:col: severity: message`, the format editors and terminals link. */
export function formatProblem(problem: Problem, relativeTo?: string): string {
  const file = problem.file && relativeTo ? relativePath(problem.file, relativeTo) : problem.file;
  const where = file ? `${file}:${problem.line ?? 1}:${problem.column ? `${problem.column}:` : ''} ` : '';
  return `${where}${problem.severity}: ${problem.message}`;
}

export function relativePath(file: string, base: string): string {
  const rel = path.relative(base, file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

// Kernel log reports. A header line opens a report; following lines belong to it until the next
// header or the `---[ end trace` line.
// singleLine: the report is that one line (what follows is unrelated).
// crash: the kernel itself detected a bug (as opposed to refusing the module, or a warning).
const HEADERS: Array<{ pattern: RegExp; severity: Severity; singleLine?: boolean; crash?: boolean }> = [
  { pattern: /\bBUG: (?!.*\bKASAN\b)/, severity: 'error', crash: true },
  { pattern: /\bOops: /, severity: 'error', crash: true },
  { pattern: /\bgeneral protection fault\b/, severity: 'error', crash: true },
  { pattern: /\bKernel panic - not syncing\b/, severity: 'error', crash: true },
  { pattern: /\bKASAN: /, severity: 'error', crash: true },
  { pattern: /\bWARNING: /, severity: 'warning' },
  { pattern: /\bsleeping function called from invalid context\b/, severity: 'error', crash: true },
  { pattern: /\bpossible (?:circular|recursive) locking dependency detected\b|\binconsistent lock state\b/, severity: 'warning' },
  { pattern: /\bUnknown symbol \S+/, severity: 'error', singleLine: true },
  { pattern: /\bdisagrees about version of symbol\b/, severity: 'error', singleLine: true },
  { pattern: /\btaints kernel\b|\btainting kernel\b/, severity: 'info', singleLine: true },
  { pattern: /\brcu_sched detected stalls\b|\bsoft lockup - CPU\b|\bhung_task\b.*blocked for more than/, severity: 'error', crash: true },
];

const TIMESTAMP = /^\s*(?:<\d+>)?\[\s*\d+\.\d+\]\s?/;
const FRAME = /(\?\s+)?([A-Za-z_.$][\w.$]*)\+0x([0-9a-f]+)\/0x([0-9a-f]+)(?:\s+\[([\w-]+)\])?/;

export function stripTimestamp(line: string): string {
  return line.replace(TIMESTAMP, '');
}

export function parseFrame(line: string): Frame | undefined {
  const m = FRAME.exec(line);
  if (!m) return undefined;
  return {
    func: m[2],
    offset: parseInt(m[3], 16),
    length: parseInt(m[4], 16),
    module: m[5]?.replace(/-/g, '_'),
    reliable: !m[1],
    isFaultingIp: /\bRIP: [0-9a-f]{4}:/.test(line),
    raw: m[0].trim(),
  };
}

/** Kernel reports in log lines (dmesg format, timestamps optional). */
export function parseKernelLog(lines: string[]): Problem[] {
  const problems: Problem[] = [];
  let current: Problem | undefined;
  let inTrace = false;
  for (const rawLine of lines) {
    const line = stripTimestamp(rawLine);
    const header = HEADERS.find((h) => h.pattern.test(line));
    // "BUG: kernel NULL pointer dereference" is followed by "#PF:" lines and then "Oops:": one report.
    const oopsContinuesBug = header && /\bOops: /.test(line) && current?.message.startsWith('BUG:') && !current.frames?.length;
    if (header && !oopsContinuesBug) {
      current = { source: 'kernel', severity: header.severity, message: line.trim(), report: [line], frames: [], crash: header.crash };
      const moduleName = /^([\w-]+): (?:Unknown symbol|disagrees|loading out-of-tree|module verification|module license)/.exec(line.trim())?.[1];
      if (moduleName) current.module = moduleName.replace(/-/g, '_');
      problems.push(current);
      inTrace = false;
      if (header.singleLine) current = undefined;
      continue;
    }
    if (!current) continue;
    if (/---\[ end trace/.test(line)) {
      current.report!.push(line);
      current = undefined;
      continue;
    }
    current.report!.push(line);
    if (/Call Trace:/.test(line)) inTrace = true;
    if (/<\/TASK>/.test(line)) inTrace = false;
    const frame = (inTrace || /\bRIP: /.test(line)) && !/\bRIP: 0033:/.test(line) ? parseFrame(line) : undefined;
    if (frame) {
      current.frames!.push(frame);
      if (!current.module && frame.module) current.module = frame.module;
    }
  }
  // The first reliable frame inside a module is where the report points.
  for (const p of problems) {
    const module = p.frames?.find((f) => f.module);
    if (module && !p.module) p.module = module.module;
  }
  return problems;
}

/** After decoding: place each kernel problem at its first frame that has a source line. */
export function locateKernelProblems(problems: Problem[]): void {
  for (const p of problems) {
    const located = p.frames?.find((f) => f.file && f.reliable) ?? p.frames?.find((f) => f.file);
    if (located) {
      p.file = located.file;
      p.line = located.line;
      const inner = located.inlined?.slice(0, located.inlined.findIndex((l) => l.file === located.file && l.line === located.line));
      if (inner?.length) p.message += ` (in ${inner.map((l) => `${l.func}() at ${l.file}:${l.line}`).join(', inlined in ')}, inlined here)`;
    }
  }
}
