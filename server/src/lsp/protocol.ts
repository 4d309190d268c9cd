// What the extension and its language server exchange beyond LSP itself. Imported by both sides,
// so it holds names and types only.
import type { ActiveTargetKernel, KdirChoice } from '../analysis/kernelTarget';

/**
 * The field the extension adds to the `lkm` settings the server pulls: the active target's kernel,
 * which only the extension can tell (it knows the targets and the test VM's headers).
 */
export const TARGET_KERNEL_SETTING = 'targetKernel';

export type { ActiveTargetKernel };

/** Server → extension, whenever the kernel the linter checks against (or why there is none) changes. */
export const KERNEL_TARGET_NOTIFICATION = 'lkm/kernelTarget';

/**
 * With `problem`, export checks are off: `kdir`, when present, is the dir that could not be used.
 * Without, the linter checks against `kdir`.
 */
export interface KernelTargetStatus extends KdirChoice {
  /** The loaded kernel's release (`6.1.0-57-amd64`). */
  release?: string;
}
