// Creates a module folder from a template (the core of "LKM: New Module…" and `lkm new`): the
// sources, a Makefile and a .gitignore. Never overwrites: the folder must not exist yet.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gitignoreText, makefileText } from './makefiles';
import { renderText, type ModuleTemplate, type PlaceholderValues } from './template';
import { findTemplate } from './templates';

/** MODULE_NAME_LEN is 64 - sizeof(unsigned long) on 64-bit kernels, including the NUL. */
const maxModuleNameLength = 55;

const cKeywords = new Set(
  ('auto break case char const continue default do double else enum extern float for goto if inline int long ' +
    'register restrict return short signed sizeof static struct switch typedef union unsigned void volatile while ' +
    '_Bool _Complex _Imaginary asm typeof').split(' '),
);

/** Why `name` cannot be a module name, or undefined when it can. */
export function moduleNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'Enter a module name.';
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    return `'${name}' is not a C identifier: use letters, digits and underscores (no '-'), not starting with a digit.`;
  }
  if (name.length > maxModuleNameLength) return `'${name}' is longer than ${maxModuleNameLength} characters (the kernel's limit).`;
  if (cKeywords.has(name)) return `'${name}' is a C keyword.`;
  return undefined;
}

/**
 * Kernel build folder whose Module.symvers lists the exported symbols: the given one, the running
 * kernel's, or the newest Debian headers package. Undefined when none is installed.
 */
export function findKernelBuildDir(explicit?: string): string | undefined {
  if (explicit) return explicit;
  const running = `/lib/modules/${os.release()}/build`;
  if (existsSync(path.join(running, 'Module.symvers'))) return running;
  const headersRoot = '/usr/src';
  if (!existsSync(headersRoot)) return undefined;
  const candidates = readdirSync(headersRoot)
    .filter((entry) => entry.startsWith('linux-headers-') && existsSync(path.join(headersRoot, entry, 'Module.symvers')))
    .sort((a, b) => b.localeCompare(a, 'en', { numeric: true }));
  return candidates.length ? path.join(headersRoot, candidates[0]) : undefined;
}

/** Symbols the kernel exports (column 2 of Module.symvers); empty when the file is missing. */
function readExportedSymbols(kernelBuildDir: string): Set<string> {
  const symvers = path.join(kernelBuildDir, 'Module.symvers');
  if (!existsSync(symvers)) return new Set();
  const symbols = new Set<string>();
  for (const line of readFileSync(symvers, 'utf8').split('\n')) {
    const symbol = line.split('\t')[1];
    if (symbol) symbols.add(symbol);
  }
  return symbols;
}

const kernelArchByNodeArch: Readonly<Record<string, string>> = { x64: 'x86', ia32: 'x86', arm64: 'arm64', arm: 'arm', riscv64: 'riscv' };

/** The build folder and, for Debian's split headers, the `-common` tree its Makefile includes. */
function kernelSourceRoots(kernelBuildDir: string): string[] {
  const roots = [kernelBuildDir];
  const makefile = path.join(kernelBuildDir, 'Makefile');
  if (existsSync(makefile)) {
    const included = /^include\s+(\S+)\/Makefile\s*$/m.exec(readFileSync(makefile, 'utf8'));
    if (included) roots.push(included[1]);
  }
  return roots;
}

function headerFiles(dir: string, found: string[] = []): string[] {
  if (!existsSync(dir)) return found;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) headerFiles(full, found);
    else if (entry.name.endsWith('.h')) found.push(full);
  }
  return found;
}

/** Which of `identifiers` the kernel's headers mention (as whole words). */
function identifiersInKernelHeaders(kernelBuildDir: string, identifiers: readonly string[]): Set<string> {
  const arch = kernelArchByNodeArch[os.arch()];
  const includeDirs = kernelSourceRoots(kernelBuildDir).flatMap((root) => [
    path.join(root, 'include'),
    ...(arch ? [path.join(root, 'arch', arch, 'include')] : []),
  ]);
  const pattern = new RegExp(`\\b(?:${identifiers.join('|')})\\b`, 'g');
  const mentioned = new Set<string>();
  for (const file of includeDirs.flatMap((dir) => headerFiles(dir))) {
    for (const match of readFileSync(file, 'latin1').matchAll(pattern)) mentioned.add(match[0]);
  }
  return mentioned;
}

/**
 * Identifiers that the rendered template defines from the module name and that the kernel already
 * declares or exports: `oops` would define `oops_exit`, which <linux/panic.h> declares, and fail to
 * build. Reads the kernel's headers (about a second): call it once, not per keystroke.
 */
export function clashingIdentifiers(template: ModuleTemplate, name: string, kernelBuildDir: string | undefined): string[] {
  if (!kernelBuildDir) return [];
  const derived = new Set<string>();
  // Template identifiers are `{{name}}_…` and macros `{{NAME}}_…`; the bare name only appears in strings.
  const identifier = new RegExp(`\\b(?:${name}|${name.toUpperCase()})_\\w+`, 'g');
  for (const file of template.files) {
    for (const match of renderText(file.text, template.placeholders, { name }).matchAll(identifier)) derived.add(match[0]);
  }
  const exported = readExportedSymbols(kernelBuildDir);
  const declared = identifiersInKernelHeaders(kernelBuildDir, [...derived]);
  return [...derived].filter((candidate) => exported.has(candidate) || declared.has(candidate)).sort();
}

export interface NewModuleRequest {
  name: string;
  templateId: string;
  /** The folder that receives the new module folder. */
  parentDir: string;
  /** Values for the template's other placeholders (author, description, …); defaults otherwise. */
  values?: PlaceholderValues;
  /** Kernel build folder for the symbol clash check; found automatically when absent. */
  kernelBuildDir?: string;
}

export interface NewModuleResult {
  moduleDir: string;
  /** Absolute paths, the main source first. */
  files: string[];
}

/**
 * Why a value for a text placeholder (author, description) cannot go into the source: they land in C
 * string literals and a comment, where a quote, a backslash, a newline or a comment end would break it.
 */
export function placeholderValueProblem(key: string, value: string): string | undefined {
  if (/["\\\n\r]/.test(value) || value.includes('*/')) {
    return `the ${key} must not contain a double quote, a backslash, a line break or '*/' (it goes into a C string and a comment)`;
  }
  return undefined;
}

/** Why the request cannot be created, or undefined when it can (checks everything createModule does). */
export function newModuleProblem(request: NewModuleRequest): string | undefined {
  const nameProblem = moduleNameProblem(request.name);
  if (nameProblem) return nameProblem;
  const template = findTemplate(request.templateId);
  for (const [key, value] of Object.entries(request.values ?? {})) {
    if (!template.placeholders.some((placeholder) => placeholder.key === key)) return `template '${template.id}' has no placeholder '${key}'`;
    const valueProblem = placeholderValueProblem(key, value);
    if (valueProblem) return valueProblem;
  }
  if (!existsSync(request.parentDir)) return `Folder ${request.parentDir} does not exist.`;
  const moduleDir = path.join(request.parentDir, request.name);
  if (existsSync(moduleDir)) return `${moduleDir} already exists; choose another name (nothing is overwritten).`;
  const clashes = clashingIdentifiers(template, request.name, findKernelBuildDir(request.kernelBuildDir));
  if (clashes.length) {
    return `'${request.name}' would define ${clashes.join(', ')}, which the kernel already declares; choose another name (e.g. with a prefix).`;
  }
  return undefined;
}

export function renderModuleFiles(template: ModuleTemplate, values: PlaceholderValues): { path: string; text: string }[] {
  const render = (text: string) => renderText(text, template.placeholders, values);
  return [
    ...template.files.map((file) => ({ path: render(file.path), text: render(file.text) })),
    { path: 'Makefile', text: render(makefileText(template.objects)) },
    { path: '.gitignore', text: gitignoreText },
  ];
}

export function createModule(request: NewModuleRequest): NewModuleResult {
  const problem = newModuleProblem(request);
  if (problem) throw new Error(problem);
  const template = findTemplate(request.templateId);
  const moduleDir = path.join(request.parentDir, request.name);
  // Not recursive: fails if another process created the folder since the check.
  mkdirSync(moduleDir);
  const files = renderModuleFiles(template, { ...request.values, name: request.name }).map((file) => {
    const target = path.join(moduleDir, file.path);
    writeFileSync(target, file.text, { flag: 'wx' });
    return target;
  });
  return { moduleDir, files };
}
