// A kbuild (GCC) command line made acceptable to clang-based tools (clangd, clang-tidy): the GCC-only
// flags clang's driver rejects are dropped, so every file parses instead of failing on "unknown
// argument". Chosen over a `.clangd` file (CompileFlags: Remove): the user's folder gets one file,
// not two, a `.clangd` of the user's own is never overwritten or merged, and every tool that reads
// the database (clang-tidy, ccls, any editor's clangd) gets flags it accepts. None of the removed
// flags changes a macro or an include path, so what the editor sees is what GCC compiles.

/** Exact flags, and prefixes (ending in `=`, `,` or `-`) of flags with a value. */
export const REJECTED_BY_CLANG = [
  // What Debian's clangd 14 rejects on Debian's 6.1 amd64 module command lines (`clangd --check`):
  '-mrecord-mcount',
  '-fconserve-stack',
  '-mindirect-branch=',
  '-mindirect-branch-register',
  '-mindirect-branch-cs-prefix',
  '-mfunction-return=',
  '-mpreferred-stack-boundary=',
  '-fno-allow-store-data-races',
  '-ftrivial-auto-var-init=', // =zero needs an extra "at your own peril" flag in clang 14
  // Also rejected, used by other kernel versions and configs (KASAN, ZERO_CALL_USED_REGS, GCC 14, …):
  '-fzero-call-used-regs=',
  '-fmin-function-alignment=',
  '-fno-ipa-sra',
  '-fno-var-tracking-assignments',
  '-fno-partial-inlining',
  '-fsched-pressure',
  '-fno-tree-loop-im',
  '-fno-code-hoisting',
  '-fasan-shadow-offset=',
];

/** Accepted by clang's driver, but wrong to pass on. */
const REMOVED_FOR_EFFECT = [
  // GCC plugins (randstruct, latent entropy, stackleak): clang would try to load them as its own.
  '-fplugin=',
  '-fplugin-arg-',
  // Dependency files: a clang tool given these would write `.o.d` files beside the sources.
  '-Wp,-MMD,',
  '-Wp,-MD,',
];

export function isGccOnlyFlag(arg: string): boolean {
  return [...REJECTED_BY_CLANG, ...REMOVED_FOR_EFFECT].some((flag) => (/[=,-]$/.test(flag) ? arg.startsWith(flag) : arg === flag));
}

/** The command line without those flags; the compiler (argv[0]) and the rest are kept. */
export function clangCompatibleArguments(args: readonly string[]): string[] {
  return args.filter((arg, i) => i === 0 || !isGccOnlyFlag(arg));
}
