// Text from a target (kernel log, insmod messages, compiler output of a remote build) reaches the
// user's terminal. Escape sequences in it could retitle the window, hide lines or set the clipboard
// (OSC 52), so every control character but newline and tab is shown as a visible escape instead.

/** C0 and C1 controls (every escape sequence starts with ESC or a C1), DEL, and bidi overrides. */
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

/** `text` with control characters escaped as \xNN (\u{NNNN} for bidi controls); newlines and tabs kept. */
export function terminalSafe(text: string): string {
  return text.replace(CONTROL, (c) => {
    const code = c.charCodeAt(0);
    return code > 0xff ? `\\u{${code.toString(16)}}` : `\\x${code.toString(16).padStart(2, '0')}`;
  });
}
