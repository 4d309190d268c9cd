// `lkm vm …` (guest/cli.ts), `lkm build|load|unload|reload|log [--target NAME] [DIR]` and
// `lkm run DIR [--param name=value]...`: the same engine as the extension, from a terminal.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { type Command } from 'commander';
import { registerVmCommands } from '../guest/cli';
import { readGuestState, stopGuest } from '../guest/vm';
import { pickTarget, readWorkspaceTargetSettings, TEST_VM_TARGET } from './config';
import { EXIT, formatProblems, paramsOf, runLoop } from './loop';
import { refreshAfterBuild } from '../intellisense/cli';
import { terminalSafe } from './terminal';
import { ParamError, parseParamAssignment, type ParamValue } from './params';
import { build, filterLogForModule, formatModinfo, listLoadedModules, loadModules, moduleNamesFromMakefile, openTarget, readKernelLog, releaseGuestUse, selectModules, uploadModules, waitForOtherGuestUsers, type LoadAction, type Target } from './session';

/** Tests run their own guest instance beside a developer's. */
const guestName = () => process.env.LKM_VM_NAME || undefined;

// Everything printed passes terminalSafe: much of it is the target's (or its compiler's) text.
const out = (text: string) => process.stdout.write(terminalSafe(text));
const err = (text: string) => process.stderr.write(terminalSafe(text));
const print = (text: string) => out(text.endsWith('\n') ? text : `${text}\n`);

const MODULE_HELP = "load only this of the folder's modules, with the ones it depends on (repeatable; default all)";

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `--param name=value` (single module) or `--param module.name=value`, merged over lkm.moduleParams. */
function resolveParams(dir: string, cli: string[], settingsParams: Record<string, Record<string, string>>): Record<string, ParamValue[]> {
  const modules = moduleNamesFromMakefile(dir);
  const result: Record<string, ParamValue[]> = {};
  for (const [module, params] of Object.entries(settingsParams)) {
    if (modules.includes(module)) result[module] = Object.entries(params).map(([name, value]) => ({ name, value }));
  }
  for (const text of cli) {
    const { name, value } = parseParamAssignment(text);
    const dot = name.indexOf('.');
    const module = dot > 0 ? name.slice(0, dot) : modules.length === 1 ? modules[0] : undefined;
    if (!module) throw new Error(`--param ${text}: this folder builds several modules (${modules.join(', ')}); write module.name=value`);
    const param = dot > 0 ? name.slice(dot + 1) : name;
    result[module] = [...(result[module] ?? []).filter((p) => p.name !== param), { name: param, value }];
  }
  return result;
}

async function withTarget<T>(dir: string, targetName: string | undefined, startVm: boolean, fn: (target: Target) => Promise<T>): Promise<T> {
  const settings = readWorkspaceTargetSettings(dir);
  const config = pickTarget(settings, targetName);
  const target = await openTarget(config, dir, { guestName: guestName(), startGuest: startVm, holdGuest: true, output: (t) => err(t) });
  // The SSH master is not closed here: other runs may share it; ControlPersist ends it when idle.
  try {
    return await fn(target);
  } finally {
    if (target.guest) releaseGuestUse(target.guest.name);
  }
}

function fail(message: string, code: number): never {
  err(`lkm: ${message}\n`);
  process.exit(code);
}

export function registerTargetCommands(program: Command): void {
  registerVmCommands(program, { print, err });

  program
    .command('build [dir]')
    .description('build the module folder for the target (local against the target kernel, or on the target)')
    .option('--target <name>', `target from lkm.targets (default: lkm.activeTarget, else ${TEST_VM_TARGET})`)
    .action(async (dir: string | undefined, opts: { target?: string }) => {
      const folder = path.resolve(dir ?? '.');
      const code = await withTarget(folder, opts.target, false, async (target) => {
        const result = await build(target, folder, { output: (t) => out(t) });
        refreshAfterBuild(folder, target);
        for (const line of formatProblems(result.problems, process.cwd())) err(`${line}\n`);
        if (result.ok) print(`Built ${result.modules.map((m) => m.relPath).join(', ')}`);
        return result.ok ? 0 : EXIT.buildFailed;
      });
      process.exitCode = code;
    });

  for (const action of ['load', 'unload', 'reload'] as LoadAction[]) {
    program
      .command(`${action} [dir]`)
      .description(`${action} the folder's modules on the target (builds first when sources changed)`)
      .option('--target <name>', `target from lkm.targets (default: lkm.activeTarget, else ${TEST_VM_TARGET})`)
      .option('--param <name=value>', 'module parameter (repeatable; module.name=value when the folder has several modules)', collect, [])
      .option('--module <name>', MODULE_HELP, collect, [])
      .action(async (dir: string | undefined, opts: { target?: string; param: string[]; module: string[] }) => {
        const folder = path.resolve(dir ?? '.');
        const params = resolveParams(folder, opts.param, readWorkspaceTargetSettings(folder).moduleParams);
        process.exitCode = await withTarget(folder, opts.target, false, async (target) => {
          const built = await build(target, folder, {});
          if (!built.ok) {
            for (const line of formatProblems(built.problems, process.cwd())) err(`${line}\n`);
            return EXIT.buildFailed;
          }
          const modules = selectModules(built.modules, opts.module);
          if (action !== 'unload') await uploadModules(target, modules, {});
          const result = await loadModules(target, action, modules, { params: paramsOf(modules, built.modules, params) }).catch((error: unknown) => {
            if (error instanceof ParamError) fail(error.message, EXIT.loadFailed);
            throw error;
          });
          if (result.messages.trim()) print(result.messages.trim());
          for (const line of result.log) print(line);
          for (const line of formatProblems(result.problems.filter((p) => p.severity !== 'info'), process.cwd())) err(`${line}\n`);
          return result.ok ? 0 : result.problems.some((p) => p.crash) ? EXIT.kernelError : EXIT.loadFailed;
        });
      });
  }

  program
    .command('modinfo [dir]')
    .description("build the folder's modules and print their modinfo (name, depends, parameters)")
    .option('--target <name>', `target from lkm.targets (default: lkm.activeTarget, else ${TEST_VM_TARGET})`)
    .action(async (dir: string | undefined, opts: { target?: string }) => {
      const folder = path.resolve(dir ?? '.');
      process.exitCode = await withTarget(folder, opts.target, false, async (target) => {
        const built = await build(target, folder, {});
        if (!built.ok) {
          for (const line of formatProblems(built.problems, process.cwd())) err(`${line}\n`);
          return EXIT.buildFailed;
        }
        for (const m of built.modules) print(formatModinfo(m.relPath, m.info));
        return 0;
      });
    });

  program
    .command('lsmod')
    .description('list the modules loaded on the target')
    .option('--target <name>', `target from lkm.targets (default: lkm.activeTarget, else ${TEST_VM_TARGET})`)
    .action(async (opts: { target?: string }) => {
      await withTarget(process.cwd(), opts.target, false, async (target) => print(await listLoadedModules(target, {})));
    });

  program
    .command('log [dir]')
    .description("print the target's kernel log, filtered to the folder's modules")
    .option('--target <name>', `target from lkm.targets (default: lkm.activeTarget, else ${TEST_VM_TARGET})`)
    .option('--all', 'do not filter to the module')
    .option('-f, --follow', 'keep printing new lines until Ctrl-C')
    .action(async (dir: string | undefined, opts: { target?: string; all?: boolean; follow?: boolean }) => {
      const folder = path.resolve(dir ?? '.');
      const modules = opts.all ? [] : moduleNamesFromMakefile(folder);
      const keep = (lines: string[]) => (modules.length ? modules.flatMap((m) => filterLogForModule(lines, m)) : lines);
      await withTarget(folder, opts.target, false, async (target) => {
        if (!opts.follow) {
          for (const line of keep(await readKernelLog(target, {}))) print(line);
          return;
        }
        const controller = new AbortController();
        process.once('SIGINT', () => controller.abort());
        await readKernelLog(target, { follow: true, signal: controller.signal, onLine: (line) => keep([line]).forEach(print) });
      });
    });

  program
    .command('run <dir>')
    .description(
      'the one-click loop: start the test VM if needed, sync, build, reload, print the kernel log of this load.\n' +
        `Exit codes: ${EXIT.loaded} loaded, ${EXIT.buildFailed} build failed, ${EXIT.loadFailed} load failed, ` +
        `${EXIT.kernelError} kernel BUG/Oops while loading, ${EXIT.targetError} target unreachable or a step failed`,
    )
    .option('--target <name>', `target from lkm.targets (default: lkm.activeTarget, else ${TEST_VM_TARGET})`)
    .option('--param <name=value>', 'module parameter (repeatable; module.name=value when the folder has several modules)', collect, [])
    .option('--module <name>', MODULE_HELP, collect, [])
    .option('--keep-vm', 'leave a test VM this command started running for the next run')
    .action(async (dir: string, opts: { target?: string; param: string[]; module: string[]; keepVm?: boolean }) => {
      const folder = path.resolve(dir);
      if (!existsSync(folder)) fail(`${dir}: no such folder`, EXIT.usage);
      const settings = readWorkspaceTargetSettings(folder);
      const config = pickTarget(settings, opts.target);
      const params = resolveParams(folder, opts.param, settings.moduleParams);
      const result = await runLoop(folder, config, {
        params,
        modules: opts.module,
        guestName: guestName(),
        startGuest: true,
        detachGuest: opts.keepVm,
        output: (t) => out(t),
        progress: (s) => err(`lkm: ${s}\n`),
      });
      // The SSH master stays for other runs sharing it (ControlPersist ends it when idle).
      if (result.load) {
        if (result.load.messages.trim()) print(result.load.messages.trim());
        print('--- kernel log of this load ---');
        for (const line of result.load.log) print(line);
      }
      const shown = result.problems.filter((p) => p.severity !== 'info');
      for (const line of formatProblems(shown, process.cwd())) err(`${line}\n`);
      if (result.target?.startedGuest && !opts.keepVm) {
        // Runs that started meanwhile use the VM this one booted: it stops when they are done.
        await waitForOtherGuestUsers(guestName(), 15 * 60_000, err);
        await stopGuest(guestName());
      }
      if (result.exitCode === EXIT.loaded) print(`lkm: ${result.summary} (${(result.durationMs / 1000).toFixed(1)} s)`);
      else err(`lkm: ${result.summary}\n`);
      process.exitCode = result.exitCode;
    });
}
