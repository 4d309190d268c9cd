// `lkm`: targets, the test guest and scaffolding from a terminal — the same library the extension uses.
import { Command } from 'commander';
import { registerTargetCommands } from '../core/targets/cli';
import { terminalSafe } from '../core/targets/terminal';
import { EXIT, exitCodeOf } from '../core/targets/loop';
import { registerScaffoldCommands } from '../core/scaffold/cli';
import { registerIntellisenseCommands } from '../core/intellisense/cli';
import { registerDebugCommands } from '../core/debug/cli';

const program = new Command('lkm')
  .description('Linux kernel module development: test guest, build/load on targets, scaffolding')
  .showHelpAfterError()
  // Commander exits 1 on an unknown option or a missing argument; lkm's 1 means "build failed".
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : EXIT.usage));

registerTargetCommands(program);
registerScaffoldCommands(program);
registerIntellisenseCommands(program);
registerDebugCommands(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(terminalSafe(`lkm: ${error instanceof Error ? error.message : String(error)}`));
  process.exit(exitCodeOf(error));
});
