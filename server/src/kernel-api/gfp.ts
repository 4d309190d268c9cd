// gfp_t allocation masks: which ones allow the allocator to sleep (they include __GFP_DIRECT_RECLAIM).

/** Masks that may sleep. A mask expression containing any of these (and none of the others) sleeps. */
export const SLEEPING_GFP_MASKS: ReadonlySet<string> = new Set([
  'GFP_KERNEL', 'GFP_KERNEL_ACCOUNT', 'GFP_USER', 'GFP_HIGHUSER', 'GFP_HIGHUSER_MOVABLE', 'GFP_NOIO', 'GFP_NOFS',
  '__GFP_DIRECT_RECLAIM', '__GFP_RECLAIM', 'GFP_DMA32', 'GFP_TRANSHUGE',
]);

/** Masks that never sleep. */
export const ATOMIC_GFP_MASKS: ReadonlySet<string> = new Set([
  'GFP_ATOMIC', 'GFP_NOWAIT', '__GFP_HIGH', '__GFP_ATOMIC', 'GFP_NOWAIT_ACCOUNT',
]);

/** What a GFP_KERNEL-style mask becomes in atomic context (the quick fix). */
export const ATOMIC_REPLACEMENT = 'GFP_ATOMIC';
