// Bundles the CLI into dist/: one entry file for start-up plus lazily loaded chunks per concern; and the
// `tng/lambda` helper as a file of its own (dist/lambda.js, declarations in dist/lambda/) that shares no
// chunk with the CLI.
import { build } from 'esbuild';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import ts from 'typescript';

await rm(new URL('../dist', import.meta.url), { recursive: true, force: true });
const cli = await build({
  // cli.js is the executable's entry (hot path for exec and credential-process); main.js the full program.
  entryPoints: { cli: 'src/cli/entry.ts', main: 'src/main.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunks/[name]-[hash]',
  // Native addons load from node_modules at run time; ink imports React's devtools only with DEV=true.
  external: ['@napi-rs/keyring', 'node-hid', 'react-devtools-core'],
  // The live terminal UI (src/ui/ink, .tsx): React's automatic JSX runtime, production builds of React.
  jsx: 'automatic',
  define: { 'process.env.NODE_ENV': '"production"' },
  // Bundled CommonJS dependencies (node-vault, axios) call require() for Node built-ins.
  banner: { js: "import { createRequire as __tngCreateRequire } from 'node:module'; const require = __tngCreateRequire(import.meta.url);" },
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
});
// Which chunk holds which module: test/e2e/bundle.test.ts proves from it that exec and credential-process never reach ink.
// Kept beside dist/, not in it: it is for the tests, not for the package.
await mkdir(new URL('../build/', import.meta.url), { recursive: true });
await writeFile(new URL('../build/meta.json', import.meta.url), JSON.stringify(cli.metafile));

// The Lambda helper's dependencies (@smithy/signature-v4, @aws-crypto/sha256-js, the credential provider)
// are package dependencies, resolved from node_modules where the function is deployed.
await build({
  entryPoints: { lambda: 'src/lambda/index.ts' },
  outdir: 'dist',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  legalComments: 'none',
  logLevel: 'warning',
});

const program = ts.createProgram(['src/lambda/index.ts'], {
  declaration: true,
  emitDeclarationOnly: true,
  outDir: 'dist/lambda',
  rootDir: 'src/lambda',
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true,
  skipLibCheck: true,
  allowImportingTsExtensions: true,
  types: ['node'],
});
const emitted = program.emit();
const problems = [...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics];
if (problems.length > 0 || emitted.emitSkipped) {
  const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => process.cwd(), getNewLine: () => '\n' };
  process.stderr.write(ts.formatDiagnostics(problems, host));
  process.exit(1);
}
