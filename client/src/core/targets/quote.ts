// The one function that quotes text for a remote POSIX shell. Every module name, parameter and
// path that reaches `ssh host '<command>'` passes through shellQuote, so no value can inject a command.

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quotes one argument for a POSIX sh: the result always expands to exactly `value`. */
export function shellQuote(value: string): string {
  if (value.includes('\0')) throw new Error('a shell argument cannot contain a NUL byte');
  if (value !== '' && SAFE.test(value)) return value;
  // Inside single quotes nothing is special except the quote itself, closed, escaped and reopened.
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Quotes and joins a command and its arguments. */
export function shellCommand(args: string[]): string {
  return args.map(shellQuote).join(' ');
}
