// `missing-module-description`: a loadable module without MODULE_DESCRIPTION. modpost reports
// "missing MODULE_DESCRIPTION()" only with W=1 and only since Linux 6.5, so on most targets nothing
// complains: an information, not a warning. modinfo shows no description either way.
import { linkage } from '../analysis/kbuild';
import { mainFileOf, moduleAnchor } from './moduleMacros';
import type { Rule } from './rule';

export const missingModuleDescription: Rule = {
  id: 'missing-module-description',
  docs: {
    summary: 'A module has a MODULE_DESCRIPTION (modpost checks it with W=1 since 6.5).',
    description:
      'modinfo shows a module\'s MODULE_DESCRIPTION; since Linux 6.5, `make W=1` makes modpost warn "missing ' +
      'MODULE_DESCRIPTION()". Older kernels and builds without W=1 do not check it, hence the information ' +
      'severity. Fix: add MODULE_DESCRIPTION("…"); next to the other MODULE_* lines.',
  },
  defaultSeverity: 'info',
  check(context, report) {
    const main = mainFileOf(context.files);
    // As for MODULE_LICENSE: code built into the image, or not built for this target, is no module.
    if (!main || linkage(context.module, context.target?.config) !== 'module') return;
    if (context.files.some((file) => file.symbols.description)) return;
    const licensed = context.files.find((file) => file.symbols.license);
    report({
      message: `module \`${context.module.name}\` has no MODULE_DESCRIPTION (modpost checks it only with W=1, since Linux 6.5; modinfo shows none)`,
      file: licensed?.parsed.path ?? main.parsed.path,
      range: licensed?.symbols.license?.range ?? moduleAnchor(main),
    });
  },
};
