// The active target's kernel as the language server needs it (which kdir to lint against), and which
// "no usable kdir" notices the editor has already shown. No vscode import: the unit tests run it.
import { guestKernelVersion, kernelBuildDir } from '../guest/image';
import { pickTarget, TEST_VM_TARGET, type TargetConfig, type TargetSettings } from './config';
import type { ActiveTargetKernel, KernelTargetStatus } from '../../../../server/src/lsp/protocol';
import type { KdirFix } from '../../../../server/src/analysis/kernelTarget';

/** The headers dir the test VM's modules are built against (the same functions the guest image uses). */
export async function guestKdir(): Promise<string> {
  return kernelBuildDir(await guestKernelVersion());
}

/** What the target settings say about the active target's kernel; never throws. */
export async function activeTargetKernel(settings: () => TargetSettings, findGuestKdir = guestKdir): Promise<ActiveTargetKernel> {
  let config: TargetConfig | undefined;
  try {
    config = pickTarget(settings());
  } catch (error) {
    return { kind: 'invalid', problem: messageOf(error) };
  }
  if (config) return { kind: 'ssh', name: config.name, build: config.build, ...(config.kdir ? { kdir: config.kdir } : {}) };
  try {
    return { kind: 'test-vm', name: TEST_VM_TARGET, kdir: await findGuestKdir() };
  } catch (error) {
    return { kind: 'test-vm', name: TEST_VM_TARGET, problem: messageOf(error) };
  }
}

/** The notice for a status: its text and its actions; undefined when export checks are on. */
export function kernelTargetNotice(status: KernelTargetStatus): { text: string; fixes: KdirFix[] } | undefined {
  if (!status.problem) return undefined;
  return { text: `LKM: export checks are off for ${status.source}: ${status.problem}`, fixes: status.fixes };
}

/** Remembers which notices were shown, so each kdir's (or source's) problem is shown once a session. */
export class NoticesShown {
  private readonly keys = new Set<string>();

  /** True the first time a status with this problem for this kdir (or source) is seen. */
  firstTime(status: KernelTargetStatus): boolean {
    if (!status.problem) return false;
    const key = `${status.kdir ?? status.source}\0${status.problem}`;
    if (this.keys.has(key)) return false;
    this.keys.add(key);
    return true;
  }
}

/** One line for a tooltip: the kernel the linter checks against, or why there is none. */
export function describeKernelTarget(status: KernelTargetStatus): string {
  if (status.problem) return `Linter: export checks off (${status.source}: ${status.problem})`;
  return `Linter checks against ${status.release ? `Linux ${status.release}` : 'the kernel'} in ${status.kdir} (${status.source})`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
