// Which registrations make a function run in which execution context, as data.

/** Atomic contexts forbid sleeping; `process` is ordinary task context. */
export type ExecutionContext = 'hardirq' | 'softirq' | 'process';

export interface ContextDescription {
  context: ExecutionContext;
  /** How a message names it: "hard IRQ handler", "timer callback", "work item"… */
  role: string;
}

/** A call that registers a function pointer argument as a callback: `request_irq(irq, handler, …)`. */
export interface CallbackRegistration extends ContextDescription {
  function: string;
  callbackArg: number;
}

/** A struct field that holds a callback: `.hook` of `struct nf_hook_ops`, `->function` of a timer. */
export interface CallbackField extends ContextDescription {
  field: string;
  /** The struct type when the field name alone is ambiguous (checked when the declaration is visible). */
  struct?: string;
}

export const CALLBACK_REGISTRATIONS: readonly CallbackRegistration[] = [
  { function: 'request_irq', callbackArg: 1, context: 'hardirq', role: 'hard IRQ handler' },
  { function: 'request_threaded_irq', callbackArg: 1, context: 'hardirq', role: 'hard IRQ handler' },
  { function: 'request_threaded_irq', callbackArg: 2, context: 'process', role: 'threaded IRQ handler' },
  { function: 'timer_setup', callbackArg: 1, context: 'softirq', role: 'timer callback' },
  { function: 'INIT_WORK', callbackArg: 1, context: 'process', role: 'work item' },
  { function: 'module_init', callbackArg: 0, context: 'process', role: 'module init function' },
];

export const CALLBACK_FIELDS: readonly CallbackField[] = [
  { field: 'hook', struct: 'nf_hook_ops', context: 'softirq', role: 'netfilter hook' },
  { field: 'function', context: 'softirq', role: 'timer callback' },
];
