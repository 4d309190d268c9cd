// `missing-module-license`: a module without MODULE_LICENSE taints the kernel and cannot use GPL-only
// symbols; a license string the kernel does not know is treated as proprietary. (MODULE_DESCRIPTION is
// missing-module-description's.)
import { KNOWN_LICENSES, knownLicense } from '../kernel-api/licenses';
import { linkage } from '../analysis/kbuild';
import { insertModuleLine, mainFileOf, moduleAnchor } from './moduleMacros';
import type { Rule } from './rule';
import { moduleLicense } from './unexportedSymbol';

const KNOWN_LIST = KNOWN_LICENSES.map((license) => `"${license.value}"`).join(', ');

export const missingModuleLicense: Rule = {
  id: 'missing-module-license',
  docs: {
    summary: 'A module needs a MODULE_LICENSE the kernel knows.',
    description:
      'Without MODULE_LICENSE, modpost warns, loading the module taints the kernel and the module cannot link ' +
      'against EXPORT_SYMBOL_GPL symbols. A license string not listed in include/linux/license.h ("GPL", "GPL v2", ' +
      '"GPL and additional rights", "Dual BSD/GPL", "Dual MIT/GPL", "Dual MPL/GPL", "Proprietary") is treated as ' +
      'proprietary. Fix: add MODULE_LICENSE("GPL"); (or the license that applies) next to the other MODULE_* lines.',
  },
  defaultSeverity: 'error',
  check(context, report) {
    const main = mainFileOf(context.files);
    // Code linked into the kernel image is not a module, and code the target does not build is not
    // one for that target: modpost asks nothing of either.
    if (!main || linkage(context.module, context.target?.config) !== 'module') return;
    // MODULE_LICENSE(NAME) counts even when NAME cannot be resolved: there is a license, of unknown value.
    const licensed = context.files.find((file) => file.symbols.license ?? file.symbols.unresolvedLicense);
    const value = moduleLicense(context.files, context.target)?.value;
    const anchor = moduleAnchor(main);
    if (!licensed) {
      report({
        message: `module \`${context.module.name}\` has no MODULE_LICENSE: loading it taints the kernel and it cannot use GPL-only symbols`,
        file: main.parsed.path,
        range: anchor,
        fixes: [{ title: 'Add MODULE_LICENSE("GPL")', edits: [insertModuleLine(main, 'MODULE_LICENSE("GPL");')], preferred: true }],
      });
    } else if (value !== undefined && !knownLicense(value)) {
      report({
        message: `MODULE_LICENSE("${value}") is not a license the kernel knows (${KNOWN_LIST}): module \`${context.module.name}\` is treated as proprietary`,
        file: licensed.parsed.path,
        range: (licensed.symbols.license ?? licensed.symbols.unresolvedLicense)!.range,
      });
    }
  },
};
