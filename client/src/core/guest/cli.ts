// `lkm vm start|stop|status|ssh-config [--image busybox|debian]`: the built-in QEMU guests.
import { Option, type Command } from 'commander';
import { defaultGuestName, detectKvm, GUEST_IMAGES, guestResponds, lastConsoleReport, readGuestState, sshConfigBlock, startGuest, stopGuest, type Accel, type GuestImageKind } from './vm';

export interface VmCommandOutput {
  /** A line to stdout. */
  print: (text: string) => void;
  /** Text to stderr. */
  err: (text: string) => void;
}

/** Tests run their own guest instance beside a developer's (LKM_VM_NAME); else each image has its own. */
export function vmName(image?: GuestImageKind): string {
  return process.env.LKM_VM_NAME || defaultGuestName(image);
}

const imageOption = () => new Option('--image <image>', 'which built-in guest').choices([...GUEST_IMAGES]).default('busybox');

const restartHint = (image: GuestImageKind) => `lkm vm stop${image === 'busybox' ? '' : ` --image ${image}`} && lkm vm start${image === 'busybox' ? '' : ` --image ${image}`}`;

export function registerVmCommands(program: Command, { print, err }: VmCommandOutput): void {
  const vm = program.command('vm').description('the built-in QEMU test guests: busybox (the default target) and debian (sshd, sudo, gcc: a VM like a user\'s)');
  vm.command('start')
    .description('boot a test VM; it keeps running until `lkm vm stop` (with --foreground: until Ctrl-C)')
    .addOption(imageOption())
    .option('--foreground', 'stay attached and stop the VM on Ctrl-C or when this command ends')
    .addOption(new Option('--accel <accel>', 'accelerator').choices(['auto', 'kvm', 'tcg']).default('auto'))
    .action(async (opts: { image: GuestImageKind; foreground?: boolean; accel: Accel | 'auto' }) => {
      const kvm = detectKvm();
      if (opts.accel === 'auto' && !kvm.usable) err(`Using TCG: ${kvm.reason}\n`);
      const name = vmName(opts.image);
      const state = await startGuest({ name, image: opts.image, detached: !opts.foreground, accel: opts.accel, log: (l) => err(`${l}\n`) });
      print(`Test VM running (${opts.image}): ssh on 127.0.0.1:${state.port} as ${state.user ?? 'root'}, ${state.accel.toUpperCase()}, kernel ${state.kernelVersion}, pid ${state.pid}, ready in ${((state.readyMs ?? 0) / 1000).toFixed(1)} s`);
      print(`Serial console log: ${state.serialLog}`);
      if (opts.image !== 'busybox') print(`SSH config for it: lkm vm ssh-config --image ${opts.image}`);
      if (!opts.foreground) return;
      print('Press Ctrl-C to stop it.');
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        // The guest dying on its own (panic with -no-reboot) ends the foreground command too.
        const timer = setInterval(() => {
          if (!readGuestState(name)) {
            clearInterval(timer);
            resolve();
          }
        }, 1000);
      });
      await stopGuest(name);
      print('Test VM stopped.');
    });
  vm.command('stop')
    .description('stop a test VM')
    .addOption(imageOption())
    .action(async (opts: { image: GuestImageKind }) => {
      print((await stopGuest(vmName(opts.image))) ? 'Test VM stopped.' : 'The test VM was not running.');
    });
  vm.command('status')
    .description('show whether a test VM runs and answers (exit 1 when it does not)')
    .addOption(imageOption())
    .action(async (opts: { image: GuestImageKind }) => {
      const state = readGuestState(vmName(opts.image));
      if (!state) {
        print('The test VM is not running.');
        process.exitCode = 1;
        return;
      }
      if (!(await guestResponds(state))) {
        print(`Test VM not responding: QEMU (pid ${state.pid}) runs but the guest does not answer over SSH (hung?). Restart it with: ${restartHint(opts.image)}`);
        const report = lastConsoleReport(state);
        if (report) print(`Last console output (${state.serialLog}):\n${report}`);
        process.exitCode = 1;
        return;
      }
      print(`Test VM running (${state.image ?? 'busybox'}): ssh on 127.0.0.1:${state.port} as ${state.user ?? 'root'}, ${state.accel.toUpperCase()}, kernel ${state.kernelVersion}, pid ${state.pid}, since ${state.startedAt}${state.detached ? '' : ' (owned by another process)'}`);
    });
  vm.command('ssh-config')
    .description('print the ssh_config Host block of a running test VM, to include in ~/.ssh/config (its host key stays pinned)')
    .addOption(imageOption())
    .action((opts: { image: GuestImageKind }) => {
      const state = readGuestState(vmName(opts.image));
      if (!state) {
        err(`lkm: the test VM is not running: start it with lkm vm start${opts.image === 'busybox' ? '' : ` --image ${opts.image}`}\n`);
        process.exitCode = 1;
        return;
      }
      print(sshConfigBlock(state).trimEnd());
    });
}
