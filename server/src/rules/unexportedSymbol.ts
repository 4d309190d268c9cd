// `unexported-symbol`: a module can only link against what the kernel (or another module) exports to it.
// modpost finds these after a full build ("undefined!", "GPL-incompatible module uses GPL-only symbol",
// "uses symbol from namespace X, but does not import it"); this rule says so at the call while typing.
import type { CallResolution, KernelTarget } from '../analysis/kernelTarget';
import { kernelVersion } from '../parsing/preprocessor';
import { fileIsBuilt, isBuiltIn, linkage, localHeaders, type LocalHeaders } from '../analysis/kbuild';
import { ownHeaders } from '../analysis/macroScope';
import { enclosingInvocation, invocationArguments, isNotValueArgument, macroDefinedIn, namesDefinedBy, type MacroSummary } from '../analysis/macroBodies';
import { isGplCompatible } from '../kernel-api/licenses';
import { DECLARED_FOR_TYPE_CHECKING } from '../kernel-api/linkTime';
import { insertModuleLine, mainFileOf } from './moduleMacros';
import type { AnalyzedFile, Report, Rule } from './rule';
import { resolveLicense, type FileSymbols, type SymbolReference } from '../analysis/symbols';

/** Since 6.13 MODULE_IMPORT_NS takes a string literal. */
const STRING_NAMESPACE_SINCE = kernelVersion(6, 13, 0);
const NEVER_LINKED = new Set(DECLARED_FOR_TYPE_CHECKING);

export const unexportedSymbol: Rule = {
  id: 'unexported-symbol',
  docs: {
    summary: 'A call or reference to a symbol the module cannot link against.',
    description:
      'Reported when the target kernel (its Module.symvers) does not export the symbol to modules, exports it ' +
      'GPL-only (EXPORT_SYMBOL_GPL) while the module license is not GPL-compatible, or exports it in a namespace ' +
      'the module does not import (add MODULE_IMPORT_NS); also a call of a function another module of the workspace defines ' +
      'without EXPORT_SYMBOL. Static inline functions and macros of the target headers are followed to the ' +
      'exported symbols they call. Without a target kernel (--kdir / lkm.kdir) only workspace modules are checked.',
  },
  defaultSeverity: 'error',
  check(context, reportFinding) {
    const moduleNames = new Set<string>();
    for (const file of context.files) for (const definition of file.symbols.definitions) moduleNames.add(definition.name);
    const macroDefined = context.files.flatMap((file) => namesDefinedByMacros(file, context.target));
    for (const name of macroDefined) moduleNames.add(name);
    const license = moduleLicense(context.files, context.target);
    // With no license at all, missing-module-license reports the cause once, not at every GPL-only call.
    const gplIncompatible = license !== undefined && !isGplCompatible(license.value);
    const imported = new Set(context.files.flatMap((file) => file.symbols.importedNamespaces));
    const target = context.target;
    const release = target?.release ? `Linux ${target.release}` : 'the target kernel';
    const main = mainFileOf(context.files);
    const resolutions = new Map<string, CallResolution>();
    let moduleHeaders: LocalHeaders | undefined;
    const builtIn = isBuiltIn(context.module, target?.config);
    // A module the target's configuration does not build links against nothing there.
    if (linkage(context.module, target?.config) === 'absent') return;
    // Everything outside a file its verdicts depend on (the editor re-lints the module on every keystroke).
    const inputs = [license?.value, [...imported].sort().join(), builtIn, identity(target), identity(context.workspace), ...context.files.map((file) => definedNames(file.symbols)), macroDefined.join()].join('\0');

    const headersOfModule = () => {
      const sources = context.files.map((f) => f.parsed);
      return (moduleHeaders ??= withOwnNames(localHeaders(context.module, sources), ownHeaders(sources, target).names));
    };
    for (const file of context.files) {
      // Code the target's configuration leaves out of the module links against nothing there.
      if (!fileIsBuilt(context.module, file.parsed.path, target?.config)) continue;
      const known = verdicts.get(file.symbols);
      // The same inputs give the same reports (the header names and the main file, when they were used, unchanged).
      if (known && known.inputs === inputs && (!known.headers || known.headers === headersOfModule()) && (known.reports.length === 0 || known.main === main?.parsed)) {
        for (const finding of known.reports) reportFinding(finding);
        continue;
      }
      const verdict: Verdict = { inputs, reports: [], main: main?.parsed };
      verdicts.set(file.symbols, verdict);
      const report = (finding: Report) => {
        verdict.reports.push(finding);
        reportFinding(finding);
      };
      const headers = () => (verdict.headers = headersOfModule());
      for (const reference of file.symbols.references) {
        const name = reference.name;
        if (moduleNames.has(name)) continue;
        const at = { file: file.parsed.path, range: reference.range };
        let resolution = target ? resolutions.get(name) : undefined;
        if (target && !resolution) resolutions.set(name, (resolution = target.resolveCall(name)));
        // The kernel's own definition (an export, a header inline or macro) is what a module links
        // against; another workspace module defining the same name (efi libstub's memcpy) is not.
        const kernelKnows = resolution !== undefined && resolution.kind !== 'unknown';
        // Code linked into the kernel image links freely with the image's other code.
        // Only a call reaches another module's function (the index holds functions): a bare name that
        // matches one is far more often a struct member passed to a macro or an enum constant.
        const elsewhere = kernelKnows || !reference.isCall ? [] : context.workspace.definitionsOf(name).filter((definition) => definition.module !== context.module.name && !(builtIn && definition.builtIn));
        if (elsewhere.length > 0) {
          if (!headers().names.has(name)) checkWorkspaceSymbol(reference, elsewhere, gplIncompatible, license?.value, at, report);
          continue;
        }
        // Exports only matter to loadable modules: built-in code links against the whole image.
        if (!target || !resolution || builtIn) continue;
        // A header inline that ends in the module's own function (adis_lib's __adis_write_reg) links within the module.
        if (resolution.symbol !== undefined && moduleNames.has(resolution.symbol)) continue;
        const chain = resolution.via ? ` (through ${resolution.via.map((step) => `\`${step}\``).join(' → ')})` : '';
        const what = resolution.via ? `\`${name}\` reaches \`${resolution.symbol}\`${chain}, which` : `\`${name}\``;
        if (resolution.kind === 'unknown' || resolution.kind === 'header-only' || (resolution.kind === 'exported' && !resolution.namespace)) continue;
        if (resolution.kind === 'not-exported' && NEVER_LINKED.has(name)) continue;
        // The module's own macro or inline of that name is what it calls. Read only when needed.
        if (headers().names.has(name)) continue;
        // Read last, as it looks at the text around the name.
        if (isMacroArgumentOnly(file, reference, target)) continue;
        if (resolution.kind === 'not-exported') {
          report({ ...at, message: `\`${name}\` is not exported to modules by ${release}: the module will not load (modpost: "${name}" undefined)` });
          continue;
        }
        if (resolution.kind === 'gpl-only' && gplIncompatible) {
          report({ ...at, message: `${what} is exported GPL-only (EXPORT_SYMBOL_GPL) by ${release}, but MODULE_LICENSE("${license!.value}") is not GPL-compatible` });
        }
        if ((resolution.kind === 'gpl-only' || resolution.kind === 'exported') && resolution.namespace && !imported.has(resolution.namespace)
          // The import may sit in the module's own header (ltc2496.c includes ltc2497.h's MODULE_IMPORT_NS).
          && !headers().imports.has(resolution.namespace)) {
          const namespace = resolution.namespace;
          const importLine = (target.versionCode ?? 0) >= STRING_NAMESPACE_SINCE ? `MODULE_IMPORT_NS("${namespace}");` : `MODULE_IMPORT_NS(${namespace});`;
          const fixFile: AnalyzedFile = main ?? file;
          report({
            ...at,
            message: `${what} is exported in namespace ${namespace} by ${release}; add ${importLine}`,
            fixes: [{ title: `Add ${importLine}`, edits: [insertModuleLine(fixFile, importLine)], preferred: true }],
          });
        }
      }
    }
  },
};

/** Names a file defines through macros whose bodies define functions (`DRM_ENUM_NAME_FN(drm_get_dpms_name, …)`). */
function namesDefinedByMacros(file: AnalyzedFile, target: KernelTarget | undefined): string[] {
  const summaries = target?.headers.macroSummaries;
  if (!summaries) return [];
  const names: string[] = [];
  for (const reference of file.symbols.references) {
    if (!reference.isCall) continue;
    const summary = summaries.get(reference.name);
    if (!summary || summary.defines.length === 0) continue;
    const start = offsetOf(file, reference);
    const args = invocationArguments(file.parsed.normalized.text, start + reference.name.length);
    if (args) names.push(...namesDefinedBy(summary, args));
  }
  return names;
}

/**
 * A name that is a whole argument of a macro whose body never uses that argument as a value (pastes,
 * stringifies or takes it as a member name: `static DEVICE_ATTR_RO(frozen)`, `SET_VALID_IOCTL(ops, cmd,
 * vidioc_querycap)`, `EXPORT_SYMBOL(x)`): no use of a symbol of that name. The macro's body is the
 * kdir's, else the file's own `#define`.
 */
function isMacroArgumentOnly(file: AnalyzedFile, reference: SymbolReference, target: KernelTarget | undefined): boolean {
  const start = offsetOf(file, reference);
  const invocation = enclosingInvocation(file.parsed.normalized.text, start, start + reference.name.length);
  if (!invocation) return false;
  const own = new Map<string, MacroSummary | undefined>();
  const summaryOf = (name: string) => {
    const summary = target?.headers.macroSummaries.get(name);
    if (summary) return summary;
    if (!own.has(name)) own.set(name, macroDefinedIn(file.parsed.text, name));
    return own.get(name);
  };
  return isNotValueArgument(invocation.callee, invocation.index, summaryOf);
}

function offsetOf(file: AnalyzedFile, reference: SymbolReference): number {
  return file.parsed.normalized.lineStarts[reference.range.start.line]! + reference.range.start.character;
}

/**
 * The module's MODULE_LICENSE value: a string, or a macro of the file (symbols.ts resolves those) or of
 * the headers the module includes (`MODULE_LICENSE(MPI3MR_DRIVER_LICENSE)`, defined in mpi3mr.h).
 */
export function moduleLicense(files: readonly AnalyzedFile[], target: KernelTarget | undefined): { value: string } | undefined {
  const license = files.find((file) => file.symbols.license)?.symbols.license;
  if (license) return license;
  const unresolved = files.find((file) => file.symbols.unresolvedLicense)?.symbols.unresolvedLicense;
  if (!unresolved) return undefined;
  const { valueMacros } = ownHeaders(files.map((file) => file.parsed), target);
  const value = resolveLicense(unresolved.macro, (name) => valueMacros.get(name));
  return value === undefined ? undefined : { value };
}

const merged = new WeakMap<LocalHeaders, WeakMap<Set<string>, LocalHeaders>>();

/** The local headers' names with those only include paths and enumerators give (the same object for the same two). */
function withOwnNames(headers: LocalHeaders, own: Set<string>): LocalHeaders {
  let byOwn = merged.get(headers);
  if (!byOwn) merged.set(headers, (byOwn = new WeakMap()));
  let result = byOwn.get(own);
  if (!result) byOwn.set(own, (result = own.size === 0 ? headers : { names: new Set([...headers.names, ...own]), imports: headers.imports }));
  return result;
}

/** A file's reports and what they were derived from besides the file itself. */
interface Verdict {
  inputs: string;
  reports: Report[];
  /** The module's local headers, when the file's references needed them. */
  headers?: LocalHeaders;
  /** The file quick fixes insert into. */
  main: object | undefined;
}

/** Per file's symbols: its last verdict (the editor re-lints the whole module on every keystroke). */
const verdicts = new WeakMap<FileSymbols, Verdict>();
const namesDefinedIn = new WeakMap<FileSymbols, string>();
const identities = new WeakMap<object, number>();
let identitiesGiven = 0;

function definedNames(symbols: FileSymbols): string {
  let names = namesDefinedIn.get(symbols);
  if (names === undefined) namesDefinedIn.set(symbols, (names = symbols.definitions.map((definition) => definition.name).join()));
  return names;
}

/** A number per object (a target, a workspace index): a reloaded one is another. */
function identity(object: object | undefined): number {
  if (!object) return 0;
  let id = identities.get(object);
  if (id === undefined) identities.set(object, (id = ++identitiesGiven));
  return id;
}

function checkWorkspaceSymbol(
  reference: SymbolReference,
  definitions: Array<{ module: string; file: string; exported: boolean; gplOnly: boolean }>,
  gplIncompatible: boolean,
  license: string | undefined,
  at: Pick<Report, 'file' | 'range'>,
  report: (finding: Report) => void,
): void {
  const exported = definitions.filter((definition) => definition.exported);
  const name = reference.name;
  if (exported.length === 0) {
    const definition = definitions[0]!;
    report({
      ...at,
      message: `\`${name}\` is defined in module \`${definition.module}\` (${definition.file}) without EXPORT_SYMBOL: other modules cannot link against it; export it there with EXPORT_SYMBOL(${name}) or EXPORT_SYMBOL_GPL(${name})`,
    });
    return;
  }
  if (gplIncompatible && exported.every((definition) => definition.gplOnly)) {
    report({ ...at, message: `\`${name}\` is exported GPL-only by module \`${exported[0]!.module}\`, but MODULE_LICENSE("${license}") is not GPL-compatible` });
  }
}
