// A kbuild (GCC) command line made acceptable to clang-based tools (clangd, clang-tidy): the GCC-only
// flags clang's driver rejects are dropped, so every file parses instead of failing on "unknown
// argument". The list is what Debian's clangd 14 rejects on Debian's 6.1 amd64 module command lines
// (`clangd --check`), plus the same kind of flags other kernel versions and configs add (GCC
// plugins, `--param`, newer hardening options). None of them changes a macro or an include path,
// so what the editor sees is what GCC compiles.

/** Exact flags, and prefixes (ending in `=`, `,` or `-`) of flags with a value. */
const GCC_ONLY = [
  // Rejected by clangd 14 on Debian's 6.1 amd64 module command lines:
  '-mrecord-mcount',
  '-fconserve-stack',
  '-mindirect-branch=',
  '-mindirect-branch-register',
  '-mindirect-branch-cs-prefix',
  '-mfunction-return=',
  '-mpreferred-stack-boundary=',
  '-fno-allow-store-data-races',
  '-ftrivial-auto-var-init=', // =zero needs an extra "at your own peril" flag in clang 14
  // Rejected by clangd 14, used by other kernel versions and configs (KASAN, ZERO_CALL_USED_REGS, …):
  '-fzero-call-used-regs=',
  '-fmin-function-alignment=',
  '-fno-ipa-sra',
  '-fno-var-tracking-assignments',
  '-fno-partial-inlining',
  '-fsched-pressure',
  '-fno-tree-loop-im',
  '-fno-code-hoisting',
  '-fasan-shadow-offset=',
  // GCC plugins (randstruct, latent entropy, stackleak): clang would try to load them as its own.
  '-fplugin=',
  '-fplugin-arg-',
  // Dependency files: a clang tool given these would write `.o.d` files beside the sources.
  '-Wp,-MMD,',
  '-Wp,-MD,',
];

export function isGccOnlyFlag(arg: string): boolean {
  return GCC_ONLY.some((flag) => (/[=,-]$/.test(flag) ? arg.startsWith(flag) : arg === flag));
}

/** The command line without the flags clang rejects; the compiler (argv[0]) and the rest are kept. */
export function clangCompatibleArguments(args: readonly string[]): string[] {
  return args.filter((arg, i) => i === 0 || !isGccOnlyFlag(arg));
}
