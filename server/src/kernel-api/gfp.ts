// gfp_t allocation masks: which ones allow the allocator to sleep (they include __GFP_DIRECT_RECLAIM).
// Source: include/linux/gfp_types.h of Linux 6.1 (the masks kept their meaning in mainline;
// mainline dropped __GFP_ATOMIC, which stays listed for 6.1 code).

/** Masks that may sleep. A mask expression containing any of these (and none of the others) sleeps. */
export const SLEEPING_GFP_MASKS: ReadonlySet<string> = new Set([
  'GFP_KERNEL', // __GFP_RECLAIM | __GFP_IO | __GFP_FS
  'GFP_KERNEL_ACCOUNT', // GFP_KERNEL | __GFP_ACCOUNT
  'GFP_NOIO', // __GFP_RECLAIM: direct reclaim without starting I/O
  'GFP_NOFS', // __GFP_RECLAIM | __GFP_IO: direct reclaim without filesystem calls
  'GFP_USER', // GFP_KERNEL | __GFP_HARDWALL
  'GFP_HIGHUSER', // GFP_USER | __GFP_HIGHMEM
  'GFP_HIGHUSER_MOVABLE', // GFP_HIGHUSER | __GFP_MOVABLE | __GFP_SKIP_KASAN_POISON
  'GFP_TRANSHUGE', // GFP_TRANSHUGE_LIGHT | __GFP_DIRECT_RECLAIM
  '__GFP_RECLAIM', // __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM
  '__GFP_DIRECT_RECLAIM', // the caller may enter direct reclaim: the bit that makes it sleep
]);

/** Masks that never sleep. */
export const ATOMIC_GFP_MASKS: ReadonlySet<string> = new Set([
  'GFP_ATOMIC', // __GFP_HIGH | __GFP_ATOMIC | __GFP_KSWAPD_RECLAIM: may use reserves, never waits
  'GFP_NOWAIT', // __GFP_KSWAPD_RECLAIM: wakes kswapd, never waits
  'GFP_TRANSHUGE_LIGHT', // GFP_HIGHUSER_MOVABLE | __GFP_COMP | … with __GFP_RECLAIM masked out
  '__GFP_ATOMIC', // 6.1 only: the caller cannot reclaim or sleep
  '__GFP_HIGH', // access to emergency reserves, used by atomic callers
  '__GFP_KSWAPD_RECLAIM', // only wakes kswapd
]);

/**
 * Modifiers that do not decide whether the allocation sleeps: zone selectors (GFP_DMA), placement
 * and reclaim-policy hints (__GFP_NOWARN, __GFP_NORETRY…). `GFP_DMA` alone never reclaims, but
 * `GFP_KERNEL | GFP_DMA` sleeps, so they belong to neither set above: a mask expression is judged
 * by its other names. __GFP_NOFAIL too: it loops only when combined with direct reclaim.
 */
export const NEUTRAL_GFP_MODIFIERS: ReadonlySet<string> = new Set([
  'GFP_DMA', 'GFP_DMA32', '__GFP_DMA', '__GFP_DMA32', '__GFP_HIGHMEM', '__GFP_MOVABLE',
  '__GFP_RECLAIMABLE', '__GFP_WRITE', '__GFP_HARDWALL', '__GFP_THISNODE', '__GFP_ACCOUNT',
  '__GFP_MEMALLOC', '__GFP_NOMEMALLOC', '__GFP_IO', '__GFP_FS', '__GFP_RETRY_MAYFAIL', '__GFP_NOFAIL',
  '__GFP_NORETRY', '__GFP_NOWARN', '__GFP_COMP', '__GFP_ZERO', '__GFP_ZEROTAGS', '__GFP_SKIP_ZERO',
  '__GFP_SKIP_KASAN_UNPOISON', '__GFP_SKIP_KASAN_POISON', '__GFP_NOLOCKDEP',
]);

/** What a GFP_KERNEL-style mask becomes in atomic context (the quick fix). */
export const ATOMIC_REPLACEMENT = 'GFP_ATOMIC';
