// Kernel functions that headers declare but that a module never links against, because every use
// sits in a macro argument the expansion drops (so they are not missing exports).

/** Declared only so that `lockdep_is_held()` type-checks inside rcu_dereference_protected() & co. */
export const DECLARED_FOR_TYPE_CHECKING: readonly string[] = ['lockdep_is_held', 'lockdep_is_held_type'];
