// Bundles the client (extension host), the language server and both CLIs with esbuild, and copies
// the tree-sitter wasm artifacts beside the server bundle (the same files serve every platform).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
const out = path.join(root, 'out');

const entries = {
  'client/extension': 'client/src/extension.ts',
  'client/lkm': 'client/src/cli/lkm.ts',
  'server/server': 'server/src/lsp/server.ts',
  'server/lkm-lint': 'server/src/cli/lkmLint.ts',
  'server/lint-worker': 'server/src/cli/lintWorker.ts',
  // The lint benchmark times the bundled engine, as shipped.
  'bench/bench-lint': 'scripts/bench-lint.ts',
};

await build({
  entryPoints: Object.fromEntries(Object.entries(entries).map(([o, i]) => [o, path.join(root, i)])),
  outdir: out,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  external: ['vscode'],
  // jsonc-parser's UMD entry loads its parts with a dynamic require esbuild cannot follow.
  // web-tree-sitter's ESM entry locates its wasm through import.meta.url, which a CJS bundle lacks.
  alias: { 'jsonc-parser': 'jsonc-parser/lib/esm/main.js', 'web-tree-sitter': require.resolve('web-tree-sitter') },
  logLevel: 'warning',
});

mkdirSync(path.join(out, 'server'), { recursive: true });
copyFileSync(require.resolve('web-tree-sitter/web-tree-sitter.wasm'), path.join(out, 'server', 'web-tree-sitter.wasm'));
copyFileSync(require.resolve('tree-sitter-c/tree-sitter-c.wasm'), path.join(out, 'server', 'tree-sitter-c.wasm'));
