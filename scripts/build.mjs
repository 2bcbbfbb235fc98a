// Bundles the CLI into dist/: one entry file for start-up plus lazily loaded chunks per concern.
import { build } from 'esbuild';
import { rm } from 'node:fs/promises';

await rm(new URL('../dist', import.meta.url), { recursive: true, force: true });
await build({
  entryPoints: { main: 'src/main.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunks/[name]-[hash]',
  // Native addons load from node_modules at run time.
  external: ['@napi-rs/keyring', 'node-hid'],
  // Bundled CommonJS dependencies (node-vault, axios) call require() for Node built-ins.
  banner: { js: "import { createRequire as __tngCreateRequire } from 'node:module'; const require = __tngCreateRequire(import.meta.url);" },
  legalComments: 'none',
  logLevel: 'warning',
  metafile: false,
});
