// The floor of the first-diagnostics benchmark (bench-lint.ts, section "first"): a language server of
// the same library as LKM Dev's (vscode-languageserver), started the same way, that does nothing but
// answer `initialize` and publish empty diagnostics for each document opened. What it takes is what
// any server takes on this machine: a process, Node's start, the library, the protocol's round trips.
import { createRequire } from 'node:module';

// CommonJS packages, loaded as the server bundle loads them.
const require = createRequire(import.meta.url);
const { createConnection, ProposedFeatures, TextDocuments, TextDocumentSyncKind } = require('vscode-languageserver/node');
const { TextDocument } = require('vscode-languageserver-textdocument');

const connection = createConnection(ProposedFeatures.all);
const documents = new TextDocuments(TextDocument);
connection.onInitialize(() => ({ capabilities: { textDocumentSync: TextDocumentSyncKind.Incremental } }));
documents.onDidOpen((event) => void connection.sendDiagnostics({ uri: event.document.uri, diagnostics: [] }));
documents.listen(connection);
connection.listen();
