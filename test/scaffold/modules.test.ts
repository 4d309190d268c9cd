// The proof of issue 4: every New Module template (through createModule, the code behind the command
// and `lkm new`) and every snippet (through the contributed snippets/*.json, expanded as the editor
// would) becomes a module that
//   - lints clean with lkm-lint,
//   - builds with kbuild against Debian's linux-headers-amd64 with warnings as errors,
//   - loads and unloads twice in the QEMU test guest with no BUG/WARNING/Oops in the kernel log.
// Needs the guest packages (bash scripts/install-guest-deps.sh; CI installs them).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { guestKernelVersion, kernelBuildDir } from '../../client/src/core/guest/image';
import { guestConnection, guestRunDir, lastConsoleReport, startGuest, stopGuest, type GuestState } from '../../client/src/core/guest/vm';
import { runProcess } from '../../client/src/core/targets/process';
import type { SshConnection } from '../../client/src/core/targets/ssh';
import { createModule, renderModuleFiles } from '../../client/src/core/scaffold/newModule';
import type { SnippetFile } from '../../client/src/core/scaffold/snippets';
import { renderText } from '../../client/src/core/scaffold/template';
import { cFragmentSnippets, findTemplate, moduleTemplates } from '../../client/src/core/scaffold/templates';
import { expandSnippet } from './snippetExpander';

const root = path.resolve(__dirname, '../..');
const linter = path.join(root, 'out', 'server', 'lkm-lint.js');
const buildTimeoutMs = 180_000;
const guestName = `scaffold-${process.pid}`;

/** Kernel log lines that mean a module misbehaved. */
const kernelTrouble = /\bBUG:|WARNING:|Oops|Call Trace:|general protection fault|list_(?:add|del) corruption|refcount_t:|kernel BUG|double free|use-after-free/;

interface BuiltModule {
  name: string;
  ko: string;
  loadParameters: string;
}

function templateModuleName(templateId: string): string {
  return `lkmt_${templateId.replace(/-/g, '_')}`;
}

function snippetModuleName(prefix: string): string {
  return `lkms_${prefix.replace(/^lkm-/, '').replace(/-/g, '_')}`;
}

function readSnippets(fileName: string): SnippetFile {
  return JSON.parse(readFileSync(path.join(root, 'snippets', fileName), 'utf8')) as SnippetFile;
}

function writeFiles(dir: string, files: readonly { path: string; text: string }[]): void {
  mkdirSync(dir, { recursive: true });
  for (const file of files) writeFileSync(path.join(dir, file.path), file.text);
}

async function make(args: string[], cwd: string): Promise<string> {
  const result = await runProcess('make', args, { cwd, timeoutMs: buildTimeoutMs });
  const output = `${result.stdout}${result.stderr}`;
  if (result.timedOut) throw new Error(`make ${args.join(' ')} in ${cwd} took over ${buildTimeoutMs / 1000} s:\n${output}`);
  if (result.code !== 0) throw new Error(`make ${args.join(' ')} in ${cwd} failed (${result.code}):\n${output}`);
  // -Werror turns compiler warnings into errors; modpost warnings (e.g. a missing license) stay warnings.
  assert.doesNotMatch(output, /warning:|WARNING:/, `make in ${cwd} warned:\n${output}`);
  return output;
}

describe('scaffolding proof: templates and snippets build, lint and load', { timeout: 600_000 }, () => {
  let kdir: string;
  let work: string;
  let templatesDir: string;
  let snippetsDir: string; // also holds copies of the template sources (one kbuild run)
  let makefileSnippetsDir: string;
  const built: BuiltModule[] = [];

  before(async () => {
    kdir = kernelBuildDir(await guestKernelVersion());
    work = mkdtempSync(path.join(tmpdir(), 'lkm-scaffold-'));
    templatesDir = path.join(work, 'templates');
    snippetsDir = path.join(work, 'snippets');
    makefileSnippetsDir = path.join(work, 'makefile-snippets');
    mkdirSync(templatesDir);

    // Every template through the New Module code path, named with a prefix no kernel symbol has.
    for (const template of moduleTemplates) {
      createModule({ name: templateModuleName(template.id), templateId: template.id, parentDir: templatesDir, kernelBuildDir: kdir });
    }

    // Every C snippet as the editor would insert it, the module name typed into tab stop 1. Whole-module
    // snippets get their template's other files (headers); fragments go into a skeleton after its includes.
    const skeleton = findTemplate('skeleton');
    const kbuildObjects: string[] = [];
    const compositeLines: string[] = [];
    for (const snippet of Object.values(readSnippets('c.json'))) {
      const name = snippetModuleName(snippet.prefix);
      const template = moduleTemplates.find((candidate) => candidate.snippetPrefix === snippet.prefix);
      const fragment = cFragmentSnippets.find((candidate) => candidate.prefix === snippet.prefix);
      assert.ok(template || fragment, `snippet ${snippet.prefix} comes from no template or fragment`);
      let source: string;
      if (template) {
        source = expandSnippet(snippet.body, new Map([[1, name]])).text;
        writeFiles(snippetsDir, renderModuleFiles(template, { name }).filter((file) => file.path.endsWith('.h')));
      } else {
        const module = renderText(skeleton.files[0].text, skeleton.placeholders, { name });
        const afterIncludes = module.lastIndexOf('#include');
        const insertAt = module.indexOf('\n\n', afterIncludes) + 2;
        source = `${module.slice(0, insertAt)}${expandSnippet(snippet.body).text}\n${module.slice(insertAt)}`;
      }
      writeFiles(snippetsDir, [{ path: `${name}.c`, text: source }]);
      kbuildObjects.push(`${name}.o`);
    }
    // One kbuild run compiles every template and snippet module (per-module runs cost ~1 s each):
    // the templates' sources are copied next to the snippets and listed in one Kbuild.
    for (const template of moduleTemplates) {
      const name = templateModuleName(template.id);
      const dir = path.join(templatesDir, name);
      for (const file of readdirSync(dir).filter((entry) => /\.[ch]$/.test(entry))) {
        writeFileSync(path.join(snippetsDir, file), readFileSync(path.join(dir, file)));
      }
      kbuildObjects.push(`${name}.o`);
      if (template.objects) compositeLines.push(`${name}-y := ${template.objects.map((object) => renderText(object, template.placeholders, { name })).join(' ')}`);
    }
    writeFiles(snippetsDir, [{ path: 'Kbuild', text: [`obj-m += ${kbuildObjects.join(' ')}`, ...compositeLines, ''].join('\n') }]);

    // The Makefile/Kbuild snippets, each as the build file of a module folder.
    const makefiles = readSnippets('makefile.json');
    const multiFile = findTemplate('multifile');
    for (const snippet of Object.values(makefiles)) {
      const name = snippetModuleName(snippet.prefix);
      const expanded = expandSnippet(snippet.body, new Map([[1, name]])).text;
      const sources = snippet.prefix === 'lkm-makefile-multi' ? multiFile : skeleton;
      const buildFile = snippet.prefix === 'lkm-kbuild' ? 'Kbuild' : 'Makefile';
      writeFiles(path.join(makefileSnippetsDir, name), [
        ...renderModuleFiles(sources, { name }).filter((file) => file.path.endsWith('.c') || file.path.endsWith('.h')),
        { path: buildFile, text: expanded },
      ]);
    }
  });

  after(async () => {
    await stopGuest(guestName).catch(() => undefined);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('lints every generated module clean with lkm-lint (before building: no kbuild products)', async () => {
    assert.ok(existsSync(linter), `${linter} is missing: run npm run build first`);
    const result = await runProcess(process.execPath, [linter, '--kdir', kdir, templatesDir, snippetsDir, makefileSnippetsDir], {
      timeoutMs: 180_000,
    });
    assert.equal(result.timedOut, false, 'lkm-lint took over 180 s');
    assert.equal(result.code, 0, `lkm-lint found problems:\n${result.stdout}${result.stderr}`);
    assert.match(result.stderr + result.stdout, /\b0 finding/);
  });

  it('the build harness fails on a compiler warning (warnings are errors)', async () => {
    const dir = path.join(work, 'warns');
    writeFiles(dir, [
      {
        path: 'lkmt_warns.c',
        text: '#include <linux/module.h>\nstatic int __init lkmt_warns_init(void)\n{\n\tint unused;\n\treturn 0;\n}\nmodule_init(lkmt_warns_init);\nMODULE_LICENSE("GPL");\n',
      },
      { path: 'Kbuild', text: 'obj-m += lkmt_warns.o\n' },
    ]);
    await assert.rejects(make(['-C', kdir, `M=${dir}`, 'KCFLAGS=-Werror', 'modules'], dir), /unused variable/);
  });

  it('compiles every template and every C snippet module (one kbuild run, -Werror)', async () => {
    await make(['-C', kdir, `M=${snippetsDir}`, 'KCFLAGS=-Werror', '-j2', 'modules'], snippetsDir);
    const objects = readFileSync(path.join(snippetsDir, 'Kbuild'), 'utf8').split('\n')[0].match(/\w+\.o/g) ?? [];
    assert.ok(objects.length >= moduleTemplates.length + 20, `only ${objects.length} modules in the Kbuild`);
    for (const object of objects) {
      const ko = path.join(snippetsDir, object.replace(/\.o$/, '.ko'));
      assert.ok(existsSync(ko), `${ko} was not built`);
    }
    for (const template of moduleTemplates) {
      const name = templateModuleName(template.id);
      built.push({ name, ko: path.join(snippetsDir, `${name}.ko`), loadParameters: template.loadParameters ?? '' });
    }
  });

  it('the Makefile New Module writes builds (KDIR=…) and cleans, for a single- and a multi-file template', async () => {
    for (const templateId of ['skeleton', 'multifile']) {
      const name = templateModuleName(templateId);
      const dir = path.join(templatesDir, name);
      await make([`KDIR=${kdir}`, 'KCFLAGS=-Werror'], dir);
      const ko = path.join(dir, `${name}.ko`);
      assert.ok(existsSync(ko), `${ko} was not built`);
      await make([`KDIR=${kdir}`, 'clean'], dir);
      assert.ok(!existsSync(ko), `make clean left ${ko}`);
    }
  });

  it('builds with each Makefile/Kbuild snippet', async () => {
    for (const name of readdirSync(makefileSnippetsDir).sort()) {
      const dir = path.join(makefileSnippetsDir, name);
      if (existsSync(path.join(dir, 'Makefile'))) {
        await make([`KDIR=${kdir}`, 'KCFLAGS=-Werror'], dir);
        assert.ok(existsSync(path.join(dir, `${name}.ko`)), `${name}.ko was not built by its Makefile snippet`);
        await make([`KDIR=${kdir}`, 'clean'], dir);
        assert.ok(!existsSync(path.join(dir, `${name}.ko`)), `the clean target of ${name} left the .ko`);
      } else {
        await make(['-C', kdir, `M=${dir}`, 'KCFLAGS=-Werror', 'modules'], dir);
        assert.ok(existsSync(path.join(dir, `${name}.ko`)), `${name}.ko was not built by its Kbuild snippet`);
      }
    }
  });

  describe('in the QEMU test guest', () => {
    let guest: GuestState;
    let connection: SshConnection;

    before(async () => {
      guest = await startGuest({ name: guestName, log: (line) => console.log(`# ${line}`) });
      connection = guestConnection(guest);
      await connection.open();
    });

    let passed = false;
    after(async () => {
      await connection?.close();
      await stopGuest(guestName);
      // Each run has its own guest folder (keys, serial log): kept only when it explains a failure.
      if (passed) rmSync(guestRunDir(guestName), { recursive: true, force: true });
      else console.log(`# the guest's serial log and files are in ${guestRunDir(guestName)}`);
    });

    it('loads and unloads every template twice with no BUG/WARNING in the kernel log', async () => {
      assert.equal(built.length, moduleTemplates.length, 'the compile test must run first');
      for (const module of built) {
        const upload = await connection.exec(`cat > /tmp/${module.name}.ko`, { timeoutMs: 30_000, input: readFileSync(module.ko) });
        assert.equal(upload.code, 0, `upload of ${module.name}: ${upload.stderr}`);
      }
      const mark = `lkm-scaffold-test-${process.pid}`;
      // All modules at once, twice: load all, let deferred work (timers, workqueues, tasklets,
      // kthreads) run, unload all in reverse. A failing step prints which module it was.
      const script = [
        `echo "${mark}" > /dev/kmsg`,
        'for round in 1 2; do',
        ...built.map((module) => `  insmod /tmp/${module.name}.ko ${module.loadParameters} || { echo "insmod ${module.name} failed (round $round)"; exit 10; }`),
        '  sleep 1',
        ...[...built].reverse().map((module) => `  rmmod ${module.name} || { echo "rmmod ${module.name} failed (round $round)"; exit 11; }`),
        'done',
        `dmesg | sed -n '/${mark}/,$p'`,
      ].join('\n');
      const result = await connection.exec(script, { timeoutMs: 120_000 });
      assert.equal(result.code, 0, `${result.stdout}${result.stderr}\n${lastConsoleReport(guest)}`);
      const log = result.stdout;
      assert.ok(log.includes(mark), `the kernel log lost the marker:\n${log}`);
      assert.doesNotMatch(log, kernelTrouble, `the kernel reported trouble:\n${log}`);
      // Proof the modules ran: each template that logs on load did so twice.
      assert.equal(log.split('\n').filter((line) => line.includes('lkmt_skeleton: loaded')).length, 2, log);
      passed = true;
    });
  });
});
