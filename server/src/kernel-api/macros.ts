// Kernel macros that tree-sitter would see unexpanded, and how the normaliser treats them.
// Adding a macro is a row here; the normaliser (parsing/normalize.ts) has no names of its own.

/** Annotations that carry no meaning for the analysis and confuse the C grammar: blanked out. */
export const BLANKED_ANNOTATIONS: readonly string[] = [
  '__init', '__exit', '__initdata', '__exitdata', '__initconst', '__exitcall', '__initcall', '__devinit',
  '__devexit', '__meminit', '__ref', '__refdata', '__user', '__iomem', '__rcu', '__percpu', '__force',
  '__bitwise', '__must_check', '__maybe_unused', '__always_unused', '__used', '__always_inline',
  'noinline', 'noinline_for_stack', '__noinline', '__cold', '__hot', '__pure', '__weak', '__visible',
  '__read_mostly', '__ro_after_init', '__packed', '__latent_entropy', '__randomize_layout',
  '__no_randomize_layout', 'asmlinkage', 'notrace', '__noreturn', '__nocast', '__safe', '__kernel',
  '__private', '__iomem_ptr', '__nocfi', '__noclone', '__fastcall', '__sched', '__irq_entry',
  '__cpuinit', '__cpuexit', '__init_or_module', '__devinitdata', '__devinitconst', '__kprobes',
  '__flatten', '__malloc', '__mustcheck', '__deprecated', '__inline', '__inline__', '__attribute_const__',
  '__cacheline_aligned', '__cacheline_aligned_in_smp', '____cacheline_aligned',
  '____cacheline_aligned_in_smp', '____cacheline_internodealigned_in_smp', '__page_aligned_data',
  '__page_aligned_bss', '__stringify_label', '__nonstring', '__must_be_array', '__no_sanitize_address',
  '__no_kcsan', '__data_racy', '__exitused',
];

/** Annotations with an argument list that are blanked together with their arguments. */
export const BLANKED_ANNOTATIONS_WITH_ARGS: readonly string[] = [
  '__attribute__', '__attribute', '__aligned', '__printf', '__scanf', '__section', '__counted_by',
  '__free', '__cleanup', '__alloc_size', '__diag_ignore', '__nonnull', '__assume_aligned',
  '__compiletime_error', '__compiletime_warning', '__designated_init', '__no_sanitize_or_inline',
  '__cond_acquires', '__cond_releases', '__guarded_by', '__pt_guarded_by',
];

/** Lock annotations (sparse's context annotations): blanked for the parser, read by the analysis. */
export const LOCK_ANNOTATIONS: Readonly<Record<string, 'acquires' | 'releases' | 'must_hold'>> = {
  __acquires: 'acquires',
  __releases: 'releases',
  __must_hold: 'must_hold',
  __acquire: 'acquires',
  __release: 'releases',
};

/**
 * Statement-head macros that take a parenthesised list and a body (`list_for_each_entry(p, h, m) { … }`).
 * Besides these names, any identifier containing `for_each` in statement position is one (the
 * kernel's .clang-format lists ~800 ForEachMacros, all following that convention).
 */
export const ITERATOR_MACROS: readonly string[] = [
  'scoped_guard', 'scoped_cond_guard', 'rcu_read_lock_scope', 'with_intel_runtime_pm', 'wait_event_cmd_loop',
  'rbtree_postorder_for_each_entry_safe', 'mt_for_each', 'xa_for_each', 'xas_for_each', 'idr_for_each_entry',
  'plist_for_each', 'bio_for_each_segment', 'rq_for_each_segment', 'sg_for_each', 'while_each_thread',
  'do_each_pid_task', 'do_each_thread', 'nla_for_each_attr', 'nla_for_each_nested',
];

/** Calls that never return: the path ends there (code after `panic()` is unreachable). */
export const NORETURN_CALLS: readonly string[] = [
  'panic', 'BUG', 'do_exit', 'kthread_exit', 'kthread_complete_and_exit', 'module_put_and_kthread_exit',
  '__module_put_and_kthread_exit', 'make_task_dead', 'machine_halt', 'machine_power_off', 'machine_restart',
  'emergency_restart', 'kernel_halt', 'kernel_power_off', 'kernel_restart', 'unreachable', '__builtin_unreachable',
  'do_group_exit', 'complete_and_exit',
];

/**
 * Wait macros that drop the lock they are given while they sleep and evaluate their condition and
 * command arguments with it dropped (`wait_event_lock_irq_cmd(wq, cond, lock, cmd)`).
 */
export const LOCK_DROPPING_WAITS: readonly string[] = [
  'wait_event_lock_irq', 'wait_event_lock_irq_cmd', 'wait_event_lock_irq_timeout',
  'wait_event_interruptible_lock_irq', 'wait_event_interruptible_lock_irq_cmd',
  'wait_event_interruptible_lock_irq_timeout', 'wait_event_idle_exclusive_lock_irq',
  'wait_event_interruptible_locked', 'wait_event_interruptible_locked_irq',
  'wait_event_interruptible_exclusive_locked', 'wait_event_interruptible_exclusive_locked_irq',
  'wait_event_killable_locked', 'wait_event_killable_locked_irq',
];

/**
 * Names every kernel C compilation defines: kbuild's `-D__KERNEL__ -DMODULE -DKBUILD_MODNAME=… -DKBUILD_BASENAME=…`
 * and what GCC (and clang, which claims to be GCC 4) predefines on every target. `MODULE` is taken as
 * defined: the linter looks at code as a module.
 */
export const BUILD_DEFINED: readonly string[] = [
  '__KERNEL__', 'MODULE', 'KBUILD_MODNAME', 'KBUILD_BASENAME', 'KBUILD_MODFILE', '__KBUILD_MODNAME',
  '__GNUC__', '__GNUC_MINOR__', '__GNUC_PATCHLEVEL__', '__STDC__', '__STDC_VERSION__', '__STDC_HOSTED__',
  '__OPTIMIZE__', '__CHAR_BIT__', '__linux__', '__linux', '__unix__', '__ELF__',
];

/**
 * Names no kernel C compilation defines: sparse's, the assembler's, C++'s and genksyms' markers (code
 * under them is not what the compiler builds).
 */
export const NEVER_DEFINED_IN_KERNEL_C: readonly string[] = [
  '__CHECKER__', '__ASSEMBLY__', '__ASSEMBLER__', '__cplusplus', '__GENKSYMS__', '__STRICT_ANSI__',
];

/** The compiler's architecture predefines, by the configuration option that selects the architecture. */
export const ARCH_PREDEFINES: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['CONFIG_X86_64', ['__x86_64__', '__x86_64', '__amd64__', '__amd64', '__LP64__', '_LP64']],
  ['CONFIG_X86_32', ['__i386__', '__i386', 'i386']],
  ['CONFIG_ARM64', ['__aarch64__', '__LP64__', '_LP64']],
  ['CONFIG_ARM', ['__arm__']],
  ['CONFIG_PPC64', ['__powerpc64__', '__powerpc__', '__PPC64__', '__PPC__', '__LP64__', '_LP64']],
  ['CONFIG_PPC32', ['__powerpc__', '__PPC__']],
  ['CONFIG_MIPS', ['__mips__', '__mips']],
  ['CONFIG_RISCV', ['__riscv']],
  ['CONFIG_S390', ['__s390__', '__s390x__', '__LP64__', '_LP64']],
  ['CONFIG_SPARC64', ['__sparc__', '__sparc_v9__', '__arch64__', '__LP64__', '_LP64']],
  ['CONFIG_SPARC32', ['__sparc__']],
  ['CONFIG_ALPHA', ['__alpha__']],
  ['CONFIG_IA64', ['__ia64__']],
  ['CONFIG_PARISC', ['__hppa__']],
  ['CONFIG_M68K', ['__mc68000__', '__m68k__']],
  ['CONFIG_LOONGARCH', ['__loongarch__']],
];
