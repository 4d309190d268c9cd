// Whether a C file is kernel code, decided cheaply from its text (its `#include <…>` lines, a `main()`
// definition, module macros; no parse) and from what Kbuild says of it. Kernel rules on a userspace
// program (a test tool beside a module, a plain C project) would only be noise: "no MODULE_LICENSE"
// on a program with `main()`, and a quick fix adding one.
import * as path from 'node:path';
import { readFileIfPresent, type ModuleSpec, type ReadFile } from './kbuild';

/**
 * Headers only a C library (or a userspace library) provides. The kernel builds with `-nostdinc`, so
 * none of them can be included by kernel code; its own `<linux/string.h>`, `<linux/sched.h>`,
 * `<linux/err.h>` have directories. Compiler headers the kernel itself uses (`<stdarg.h>`,
 * `<stddef.h>`, `<stdbool.h>`) are left out.
 */
const USERSPACE_HEADERS = {
  names: new Set([
    'stdio.h', 'stdlib.h', 'string.h', 'strings.h', 'unistd.h', 'fcntl.h', 'errno.h', 'pthread.h', 'signal.h',
    'time.h', 'ctype.h', 'assert.h', 'limits.h', 'inttypes.h', 'stdint.h', 'math.h', 'dirent.h', 'getopt.h',
    'poll.h', 'sched.h', 'err.h', 'error.h', 'libgen.h', 'termios.h', 'syslog.h', 'pwd.h', 'grp.h', 'netdb.h',
    'ifaddrs.h', 'dlfcn.h', 'semaphore.h', 'spawn.h', 'wchar.h', 'malloc.h', 'setjmp.h', 'locale.h', 'search.h',
    'ftw.h', 'fnmatch.h', 'glob.h', 'regex.h', 'stdatomic.h', 'threads.h', 'ucontext.h', 'link.h', 'elf.h',
    'endian.h', 'byteswap.h', 'execinfo.h', 'mntent.h', 'paths.h', 'utime.h', 'libelf.h', 'gelf.h', 'numa.h',
    'numaif.h', 'mqueue.h', 'aio.h', 'libmnl/libmnl.h', 'zlib.h', 'sysexits.h', 'pty.h', 'utmp.h', 'shadow.h',
  ]),
  /** `<sys/…>`, `<arpa/…>`: the C library's; `<bpf/…>` is libbpf's (userspace loaders and BPF programs). */
  dirs: ['sys/', 'arpa/', 'netinet/', 'bits/', 'gnu/', 'bpf/', 'netpacket/', 'rpc/'],
};

/**
 * Header directories of the kernel's include/ (and include/uapi/, which userspace includes too: a
 * program's `<linux/ioctl.h>` says nothing on its own, which is why the C library headers are asked first).
 */
const KERNEL_HEADER_DIRS = [
  'linux/', 'asm/', 'asm-generic/', 'uapi/', 'net/', 'drm/', 'media/', 'sound/', 'scsi/', 'crypto/', 'trace/',
  'kunit/', 'acpi/', 'xen/', 'rdma/', 'video/', 'keys/', 'soc/', 'clocksource/', 'dt-bindings/', 'misc/',
  'pcmcia/', 'target/', 'ras/', 'vdso/', 'math-emu/', 'kvm/', 'memory/', 'clk/', 'cxl/',
];

/** Macros only kernel code uses: module metadata, exports, init/exit hooks. */
const KERNEL_MACRO = /^[ \t]*(?:MODULE_[A-Z_]+|EXPORT_SYMBOL\w*|module_init|module_exit|module_\w+_driver|(?:subsys|device|late|core|arch|fs)_initcall)[ \t]*\(/m;
/** A `main` definition at the start of a line: `int main(`, `int main (void)`, `void main(`, with `static`. */
const MAIN_DEFINITION = /^[ \t]*(?:static[ \t]+)?(?:int|void)[ \t]+main[ \t]*\(/m;

/** What Kbuild says of a file: lists it in a module, governs its folder but does not list it, or nothing. */
export type KbuildView = 'listed' | 'not-listed' | 'none';

/**
 * Whether a file is kernel code, in this order:
 * 1. Kbuild lists it in a module, or it uses a kernel module/export/init macro: kernel code.
 * 2. It (or a header of its own it includes) includes a C library header, or it defines `main()`: a
 *    userspace program (or a BPF program: `<bpf/…>`).
 * 3. No Kbuild governs its folder and neither it nor its own headers include a kernel header: plain C.
 * 4. Otherwise kernel code (a Kbuild folder's file with only its own headers, say): linted.
 */
export function isKernelSource(file: string, text: string, kbuild: KbuildView, readFile: ReadFile = readFileIfPresent): boolean {
  if (kbuild === 'listed' || KERNEL_MACRO.test(text)) return true;
  const includes = systemIncludes(file, text, readFile);
  if (includes.some(isUserspaceHeader) || MAIN_DEFINITION.test(text)) return false;
  return kbuild !== 'none' || includes.some(isKernelHeader);
}

function isUserspaceHeader(include: string): boolean {
  return USERSPACE_HEADERS.names.has(include) || USERSPACE_HEADERS.dirs.some((dir) => include.startsWith(dir));
}

function isKernelHeader(include: string): boolean {
  return KERNEL_HEADER_DIRS.some((dir) => include.startsWith(dir));
}

/** What Kbuild says of the files of `module` (see ModuleSpec: listed modules have `listedBy`, a governed folder `kbuildFile`). */
export function kbuildViewOf(module: ModuleSpec): KbuildView {
  return module.listedBy !== undefined ? 'listed' : module.kbuildFile !== undefined ? 'not-listed' : 'none';
}

/** Most of a file's own headers read to find its system includes (test_progs.h → <stdio.h>). */
const MAX_OWN_HEADERS = 16;
/** Parent directories an include of the file's own header may resolve in (`-I` of a test folder's root). */
const OWN_HEADER_LEVELS = 2;
const INCLUDE = /^[ \t]*#[ \t]*include[ \t]*([<"])([^>"]+)[>"]/gm;

/**
 * The `<…>` includes of a file and of its own headers, transitively (bounded): a header is its own when
 * it resolves beside the including file or in one of its parent directories; a `<…>` name that is neither
 * a C library nor a kernel header (`<test_progs.h>`, `<vmlinux.h>`) is tried there too.
 */
function systemIncludes(file: string, text: string, readFile: ReadFile): string[] {
  const found: string[] = [];
  const queue: Array<{ from: string; text: string }> = [{ from: file, text }];
  const seen = new Set<string>([file]);
  while (queue.length > 0) {
    const { from, text: source } = queue.shift()!;
    for (const [, opener, name] of source.matchAll(INCLUDE)) {
      const include = name!.trim();
      if (opener === '<') found.push(include);
      if (opener === '<' && (isUserspaceHeader(include) || isKernelHeader(include))) continue;
      const header = ownHeader(from, include, readFile);
      if (!header || seen.has(header.path) || seen.size > MAX_OWN_HEADERS) continue;
      seen.add(header.path);
      queue.push({ from: header.path, text: header.text });
    }
  }
  return found;
}

function ownHeader(from: string, include: string, readFile: ReadFile): { path: string; text: string } | undefined {
  let dir = path.dirname(from);
  for (let level = 0; level <= OWN_HEADER_LEVELS; level++) {
    const candidate = path.resolve(dir, include);
    const text = readFile(candidate);
    if (text !== undefined) return { path: candidate, text };
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}
