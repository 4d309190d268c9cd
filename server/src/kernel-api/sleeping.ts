// Which kernel calls may sleep, as data. A new sleeping API is a row here.

export interface SleepingApi {
  name: string;
  /**
   * When present, the call sleeps only if the gfp_t argument at this index may sleep (see gfp.ts):
   * `kmalloc(size, GFP_KERNEL)` sleeps, `kmalloc(size, GFP_ATOMIC)` does not.
   */
  gfpArg?: number;
  /** Why it sleeps, for hovers and messages (`waits for the mutex`). */
  reason: string;
}

export const SLEEPING_APIS: readonly SleepingApi[] = [
  { name: 'msleep', reason: 'sleeps for the given milliseconds' },
  { name: 'mutex_lock', reason: 'waits for the mutex' },
  { name: 'kmalloc', gfpArg: 1, reason: 'allocates memory' },
  { name: 'kzalloc', gfpArg: 1, reason: 'allocates memory' },
  { name: 'copy_from_user', reason: 'may fault on user memory' },
  { name: 'copy_to_user', reason: 'may fault on user memory' },
];
