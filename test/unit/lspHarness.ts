// The bundled language server over stdio, started as the extension starts it: the protocol tests share it.
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createProtocolConnection, StreamMessageReader, StreamMessageWriter, type ProtocolConnection } from 'vscode-languageserver-protocol/node';

export const SERVER = path.join(__dirname, '..', '..', 'out', 'server', 'server.js');

export interface LanguageServer {
  connection: ProtocolConnection;
  /** Shuts the server down (shutdown, exit), then kills it whatever happened. */
  stop(): Promise<void>;
}

export interface ServerOptions {
  /** The workspace folder. */
  dir: string;
  /** What the server's `workspace/configuration` requests get (read on every request). */
  settings: () => unknown;
  /** Handlers to register before the connection listens (publishDiagnostics, notifications). */
  register?: (connection: ProtocolConnection) => void;
  /** `window/logMessage` lines. */
  onLog?: (message: string) => void;
}

/** Starts the server, initializes it with `dir` as the workspace, and sends `initialized`. */
export async function startLanguageServer(options: ServerOptions): Promise<LanguageServer> {
  assert.ok(fs.existsSync(SERVER), `${SERVER} is missing: run \`npm run build\` first`);
  const server: ChildProcess = spawn(process.execPath, [SERVER, '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const connection = createProtocolConnection(new StreamMessageReader(server.stdout!), new StreamMessageWriter(server.stdin!));
  options.register?.(connection);
  connection.onRequest('workspace/configuration', (params: { items: Array<{ section?: string }> }) => params.items.map(() => options.settings()));
  connection.onRequest('client/registerCapability', () => null);
  connection.onNotification('window/logMessage', (params: { message: string }) => options.onLog?.(params.message));
  connection.listen();
  const folder = pathToFileURL(options.dir).href;
  await connection.sendRequest('initialize', {
    processId: process.pid,
    rootUri: folder,
    workspaceFolders: [{ uri: folder, name: path.basename(options.dir) }],
    capabilities: { workspace: { configuration: true, didChangeConfiguration: { dynamicRegistration: true } } },
  });
  await connection.sendNotification('initialized', {});
  return {
    connection,
    async stop() {
      try {
        await connection.sendRequest('shutdown');
        await connection.sendNotification('exit');
      } finally {
        connection.dispose();
        server.kill();
      }
    },
  };
}
