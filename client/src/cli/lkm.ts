// `lkm`: targets, the test guest and scaffolding from a terminal — the same library the extension uses.
import { Command } from 'commander';
import { registerTargetCommands } from '../core/targets/cli';
import { registerScaffoldCommands } from '../core/scaffold/cli';
import { registerDebugCommands } from '../core/debug/cli';

const program = new Command('lkm')
  .description('Linux kernel module development: test guest, build/load on targets, scaffolding')
  .showHelpAfterError();

registerTargetCommands(program);
registerScaffoldCommands(program);
registerDebugCommands(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(`lkm: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(2);
});
