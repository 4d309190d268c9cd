// QEMU's gdbstub on the running test guest, on 127.0.0.1 only. It is switched on through the guest's
// QMP socket (`gdbserver tcp:127.0.0.1:PORT`), so any running guest can be debugged without a reboot.
// QEMU accepts one gdbserver per run: its chardev list (`info chardev`) says whether one is on and
// where, so later sessions reuse it and nothing else has to remember the port.
import net from 'node:net';
import { freePort, type GuestState } from '../guest/vm';

const QMP_TIMEOUT_MS = 5_000;

/** The gdbstub port of the running guest, switching the stub on when it is off. */
export async function ensureGdbStub(guest: Pick<GuestState, 'qmpSocket'>): Promise<number> {
  const running = /^gdb: filename=(?:disconnected:)?tcp:127\.0\.0\.1:(\d+)/m.exec(await qmpHuman(guest.qmpSocket, 'info chardev'));
  if (running) return Number(running[1]);
  const port = await freePort();
  const answer = await qmpHuman(guest.qmpSocket, `gdbserver tcp:127.0.0.1:${port}`);
  if (!/Waiting for gdb connection/.test(answer)) throw new Error(`QEMU did not start its gdbstub: ${answer.trim()}`);
  return port;
}

/** Runs one human-monitor command over QMP and returns its text. */
export function qmpHuman(socketPath: string, commandLine: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`QMP: no answer from QEMU within ${QMP_TIMEOUT_MS / 1000} s`));
    }, QMP_TIMEOUT_MS);
    let buffer = '';
    let stage = 0; // 0: greeting, 1: capabilities, 2: command
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const message = JSON.parse(buffer.slice(0, nl)) as { return?: unknown; error?: { desc: string }; event?: string };
        buffer = buffer.slice(nl + 1);
        if (message.event) continue;
        if (message.error) {
          clearTimeout(timer);
          socket.destroy();
          return reject(new Error(`QMP: ${message.error.desc}`));
        }
        if (stage === 0) socket.write('{"execute":"qmp_capabilities"}\n');
        if (stage === 1) socket.write(`${JSON.stringify({ execute: 'human-monitor-command', arguments: { 'command-line': commandLine } })}\n`);
        if (stage === 2) {
          clearTimeout(timer);
          socket.end();
          return resolve(typeof message.return === 'string' ? message.return : '');
        }
        stage++;
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`QMP socket ${socketPath}: ${error.message}`));
    });
  });
}
