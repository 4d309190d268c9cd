// A minimal Debug Adapter Protocol client over a child process's stdio, for driving `lkm debug-adapter`.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

export interface DapMessage {
  seq: number;
  type: string;
  command?: string;
  event?: string;
  success?: boolean;
  message?: string;
  body?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export class DapClient {
  private readonly child: ChildProcessWithoutNullStreams;
  private seq = 1;
  private buffer = Buffer.alloc(0);
  private readonly waiters: Array<{ match: (m: DapMessage) => boolean; resolve: (m: DapMessage) => void }> = [];
  readonly received: DapMessage[] = [];
  stderr = '';

  constructor(command: string, args: string[], env: NodeJS.ProcessEnv) {
    this.child = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.on('data', (c: Buffer) => (this.stderr += c.toString()));
    this.child.stdout.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      for (;;) {
        const end = this.buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const length = Number(/Content-Length: (\d+)/.exec(this.buffer.subarray(0, end).toString())![1]);
        if (this.buffer.length < end + 4 + length) return;
        const message = JSON.parse(this.buffer.subarray(end + 4, end + 4 + length).toString()) as DapMessage;
        this.buffer = this.buffer.subarray(end + 4 + length);
        this.received.push(message);
        for (const w of [...this.waiters]) {
          if (w.match(message)) {
            this.waiters.splice(this.waiters.indexOf(w), 1);
            w.resolve(message);
          }
        }
      }
    });
  }

  /** Waits for a message not yet taken (from those received so far, or the next ones). */
  wait(match: (m: DapMessage) => boolean, timeoutMs: number, what: string): Promise<DapMessage> {
    const seen = this.received.find((m) => match(m) && !(m as { taken?: boolean }).taken);
    if (seen) {
      (seen as { taken?: boolean }).taken = true;
      return Promise.resolve(seen);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs / 1000} s; stderr: ${this.stderr.slice(-2000)}`)), timeoutMs);
      this.waiters.push({
        match,
        resolve: (m) => {
          clearTimeout(timer);
          (m as { taken?: boolean }).taken = true;
          resolve(m);
        },
      });
    });
  }

  async request(command: string, args: unknown, timeoutMs = 60_000): Promise<DapMessage> {
    const seq = this.seq++;
    const json = Buffer.from(JSON.stringify({ seq, type: 'request', command, arguments: args }));
    this.child.stdin.write(`Content-Length: ${json.length}\r\n\r\n`);
    this.child.stdin.write(json);
    const response = await this.wait((m) => m.type === 'response' && (m as { request_seq?: number }).request_seq === seq, timeoutMs, `${command} response`);
    if (!response.success) throw new Error(`${command} failed: ${response.message}`);
    return response;
  }

  event(name: string, timeoutMs: number): Promise<DapMessage> {
    return this.wait((m) => m.type === 'event' && m.event === name, timeoutMs, `${name} event`);
  }

  exited(): Promise<number | null> {
    return new Promise((resolve) => (this.child.exitCode !== null ? resolve(this.child.exitCode) : this.child.once('exit', resolve)));
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill();
  }
}
