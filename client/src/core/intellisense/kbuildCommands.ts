// The compiler command lines kbuild ran, read back from its `.<obj>.o.cmd` files — the logic of the
// kernel's scripts/clang-tools/gen_compile_commands.py, which Debian's linux-headers packages do not
// ship (their `make M=… compile_commands.json` stops at "No rule to make target
// 'scripts/clang-tools/gen_compile_commands.py'"). No vscode import: the CLI and the tests use it.
import { lstatSync, openSync, readSync, closeSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** One object's compilation as kbuild ran it: argv (compiler first) and its working directory. */
export interface KbuildCommand {
  /** Absolute path of the compiled source. */
  file: string;
  /** Where the command runs: the kernel build dir (its `-I./include` flags are relative to it). */
  directory: string;
  arguments: string[];
}

// gen_compile_commands.py's _LINE_PATTERN: `cmd_<obj>.o := <compiler and flags> <source>.c ; …`
// (`savedcmd_` since Linux 6.3). The part after `;` is objtool and friends, not the compilation.
const COMMAND_LINE = /^(?:saved)?cmd_\S*\.o := (.* )(\S*\.[cS]) *(;|$)/;
const MAX_CMD_FILES = 20_000;
const MAX_LINE_BYTES = 256 * 1024;

/** Every `.*.o.cmd` below `buildDir` (a module's build folder), as argv with the source last. */
export function readKbuildCommands(buildDir: string, kdir: string): KbuildCommand[] {
  const commands: KbuildCommand[] = [];
  for (const cmdFile of findCmdFiles(buildDir)) {
    const match = COMMAND_LINE.exec(firstLine(cmdFile));
    if (!match) continue;
    const file = path.resolve(kdir, match[2].replace(/\\#/g, '#'));
    commands.push({ file, directory: kdir, arguments: [...splitShellWords(match[1]), file] });
  }
  return commands.sort((a, b) => a.file.localeCompare(b.file));
}

function findCmdFiles(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory() && !entry.isSymbolicLink()) walk(full);
      else if (entry.isFile() && /^\..*\.o\.cmd$/.test(entry.name)) found.push(full);
      if (found.length > MAX_CMD_FILES) throw new Error(`${root} has more than ${MAX_CMD_FILES} .cmd files; is it a module build folder?`);
    }
  };
  walk(root);
  return found;
}

/** The `cmd_` line is the file's first; a bounded read (a .cmd file also lists every header). */
function firstLine(file: string): string {
  const size = Math.min(lstatSync(file).size, MAX_LINE_BYTES);
  const buffer = Buffer.alloc(size);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buffer, 0, size, 0);
  } finally {
    closeSync(fd);
  }
  const text = buffer.toString('utf8');
  const end = text.indexOf('\n');
  return end < 0 ? text : text.slice(0, end);
}

/** POSIX shell word splitting for the quoting kbuild uses (`-DKBUILD_BASENAME='"hello"'`). */
export function splitShellWords(text: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === ' ' || c === '\t' || c === '\n') {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated ' in: ${text.slice(i, i + 60)}`);
      word = (word ?? '') + text.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let value = '';
      for (i++; i < text.length && text[i] !== '"'; i++) {
        if (text[i] === '\\' && /["\\$`]/.test(text[i + 1] ?? '')) i++;
        value += text[i];
      }
      if (i >= text.length) throw new Error(`unterminated " in: ${text.slice(0, 60)}`);
      word = (word ?? '') + value;
    } else if (c === '\\' && i + 1 < text.length) {
      word = (word ?? '') + text[++i];
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}
