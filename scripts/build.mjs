// Bundles the CLI into dist/:
// - dist/boot.cjs, what bin/tng runs: it compiles dist/cli.cjs through V8's code cache (src/cli/boot.ts).
// - dist/cli.cjs, the executable's entry: one CommonJS file holding everything a warm `tng exec` or
//   `tng credential-process` runs (one file read and compile; Node loads CommonJS faster than ES modules).
//   Whatever those commands only need off the warm path — a login, a touch, a Vault call — it imports from
//   the full program's build under dist/lazy/, as it does the full program (dist/main.js) for other commands.
// - dist/main.js, the full program, with lazily loaded chunks per concern.
// - dist/lambda.js, the `tng/lambda` helper, a file of its own (declarations in dist/lambda/) sharing no chunk.
import { build } from 'esbuild';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import ts from 'typescript';

const ROOT = new URL('..', import.meta.url).pathname;

/** Modules the hot bundle imports lazily but keeps inside itself: each is on a warm exec's or credential-process's way. */
const WARM = new Set([
  'src/exec/command.ts',
  'src/exec/run.ts',
  'src/aws/credential-process.ts',
  'src/session/current.ts',
  'src/aws/provider.ts',
  'src/keychain/os.ts',
  'src/audit/chain.ts',
]);

const shared = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  // Native addons load from node_modules at run time; ink imports React's devtools only with DEV=true.
  external: ['@napi-rs/keyring', 'node-hid', 'react-devtools-core'],
  // The live terminal UI (src/ui/ink, .tsx): React's automatic JSX runtime, production builds of React.
  jsx: 'automatic',
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
};

/** Where the hot bundle finds a module it leaves to the full program's build: its entry name there. */
const lazyEntryName = (source) => (source === 'src/main.ts' ? 'main' : `lazy/${source.slice('src/'.length, -'.ts'.length)}`);

/** The hot bundle's other dynamic imports of tng's own modules become imports of the full program's files. */
function leaveColdModulesOut(cold) {
  return {
    name: 'leave-cold-modules-out',
    setup(builder) {
      builder.onResolve({ filter: /^\.\.?\//, namespace: 'file' }, (args) => {
        if (args.kind !== 'dynamic-import') return undefined;
        const source = relative(ROOT, resolve(args.resolveDir, args.path));
        if (!source.startsWith('src/') || WARM.has(source)) return undefined;
        cold.add(source);
        return { path: `./${lazyEntryName(source)}.js`, external: true };
      });
    },
  };
}

/** node-vault's `require('axios')` gets src/vault/axios-left-out.ts: tng never uses node-vault's default transport. */
const leaveAxiosOut = {
  name: 'leave-axios-out',
  setup(builder) {
    builder.onResolve({ filter: /^axios$/ }, (args) =>
      args.importer.includes('/node_modules/node-vault/') ? { path: resolve(ROOT, 'src/vault/axios-left-out.ts') } : undefined,
    );
  },
};

/**
 * dist/cli.cjs runs compiled from V8's code cache, and Node 20 gives such a script no dynamic import() of its
 * own: each of the bundle's import() calls becomes a call of `__tngImport`, which the loader (src/cli/boot.ts)
 * passes in. Every dynamic import the metafile lists must be rewritten, and nothing else.
 */
async function rewriteDynamicImports(file, metafile) {
  const expected = metafile.outputs[file].imports.filter((edge) => edge.kind === 'dynamic-import').length;
  let rewritten = 0;
  const text = (await readFile(file, 'utf8')).replace(/\bimport\((?="(?:\.\/|node:))/g, () => {
    rewritten += 1;
    return '__tngImport(';
  });
  if (rewritten !== expected) throw new Error(`${file}: rewrote ${rewritten} dynamic imports, the metafile lists ${expected}`);
  if (/\bimport\(/.test(text)) throw new Error(`${file}: a dynamic import is left that the loader cannot serve`);
  await writeFile(file, text);
}

await rm(new URL('../dist', import.meta.url), { recursive: true, force: true });
const cold = new Set();
const hot = await build({
  ...shared,
  entryPoints: { cli: 'src/cli/entry.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.cjs' },
  format: 'cjs',
  // The keychain resolves its native addon from the module's own location.
  define: { 'process.env.NODE_ENV': '"production"', 'import.meta.url': '__tngModuleUrl' },
  banner: { js: "const __tngModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  plugins: [leaveColdModulesOut(cold), leaveAxiosOut],
});
await rewriteDynamicImports('dist/cli.cjs', hot.metafile);
await build({
  ...shared,
  entryPoints: { boot: 'src/cli/boot.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.cjs' },
  format: 'cjs',
  metafile: false,
});
const full = await build({
  ...shared,
  entryPoints: { main: 'src/main.ts', ...Object.fromEntries([...cold].map((source) => [lazyEntryName(source), source])) },
  outdir: 'dist',
  splitting: true,
  format: 'esm',
  chunkNames: 'chunks/[name]-[hash]',
  define: { 'process.env.NODE_ENV': '"production"' },
  plugins: [leaveAxiosOut],
  // Bundled CommonJS dependencies (node-vault) call require() for Node built-ins.
  banner: { js: "import { createRequire as __tngCreateRequire } from 'node:module'; const require = __tngCreateRequire(import.meta.url);" },
});
// Which output holds which module, per build: test/e2e/bundle.test.ts proves from them what the hot path can
// load. Kept beside dist/, not in it: they are for the tests, not for the package.
await mkdir(new URL('../build/', import.meta.url), { recursive: true });
await writeFile(new URL('../build/meta.json', import.meta.url), JSON.stringify(full.metafile));
await writeFile(new URL('../build/meta-hot.json', import.meta.url), JSON.stringify(hot.metafile));

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
