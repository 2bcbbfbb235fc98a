// Bundles the CLI into dist/:
// - dist/boot.cjs, what bin/tng runs: it compiles the CommonJS bundles below through V8's code cache and
//   starts the hot one (src/cli/boot.ts).
// - dist/cli.cjs, the hot bundle: one CommonJS file holding everything a warm `tng exec` or
//   `tng credential-process` runs (one file read and compile; Node loads CommonJS faster than ES modules).
// - dist/cold.cjs: one CommonJS file holding every module the hot bundle imports only off the warm path — a
//   login, a touch, a Vault call, the HTTP client — except those that must stay ES modules (the live UI:
//   ink has top-level await) and the full program.
// - dist/main.js, the full program (commander, every other command), with lazily loaded chunks per concern;
//   the ES modules the two CommonJS bundles leave out are entries of this build under dist/lazy/.
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

/** Modules that stay ES modules, in the full program's build: the program itself and the live UI (ink's top-level await). */
const esmOnly = (source) => source === 'src/main.ts' || source.startsWith('src/ui/ink/');

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

/** The CommonJS bundles: compiled by dist/boot.cjs, which resolves the import() calls rewritten below. */
const commonJs = {
  ...shared,
  outdir: 'dist',
  outExtension: { '.js': '.cjs' },
  format: 'cjs',
  // The keychain resolves its native addon from the module's own location.
  define: { 'process.env.NODE_ENV': '"production"', 'import.meta.url': '__tngModuleUrl' },
  banner: { js: "const __tngModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
};

/** Where a CommonJS bundle finds a module of the full program's build: its entry name there. */
const esmEntryName = (source) => (source === 'src/main.ts' ? 'main' : `lazy/${source.slice('src/'.length).replace(/\.tsx?$/, '')}`);

/**
 * A CommonJS bundle's dynamic imports of tng's own modules: ES-module-only ones become imports of the full
 * program's files (collected in `esm`), those `elsewhere(source)` names go there, and the rest stay inside.
 */
function splitDynamicImports({ esm, elsewhere = () => undefined }) {
  return {
    name: 'split-dynamic-imports',
    setup(builder) {
      builder.onResolve({ filter: /^\.\.?\//, namespace: 'file' }, (args) => {
        if (args.kind !== 'dynamic-import') return undefined;
        const source = relative(ROOT, resolve(args.resolveDir, args.path));
        if (!source.startsWith('src/')) return undefined;
        if (esmOnly(source)) {
          esm.add(source);
          return { path: `./${esmEntryName(source)}.js`, external: true };
        }
        const path = elsewhere(source);
        return path === undefined ? undefined : { path, external: true };
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

/** The cold bundle's entry: a loader of each module the hot bundle leaves to it, by source path (boot.ts's `./cold.cjs#src/x.ts`). */
function coldEntry(sources) {
  const list = [...sources].sort();
  return {
    name: 'cold-entry',
    setup(builder) {
      builder.onResolve({ filter: /^tng:cold-entry$/ }, () => ({ path: 'cold-entry', namespace: 'tng-cold' }));
      builder.onLoad({ filter: /.*/, namespace: 'tng-cold' }, () => ({
        resolveDir: ROOT,
        loader: 'ts',
        // Each through import(): esbuild then runs a module's top level (and its dependencies') only when it is first asked for.
        contents: `export const modules = {\n${list.map((source) => `  ${JSON.stringify(source)}: () => import('./${source}'),`).join('\n')}\n};\n`,
      }));
    },
  };
}

/**
 * The CommonJS bundles run compiled from V8's code cache, and Node 20 gives such a script no dynamic import()
 * of its own: each of a bundle's import() calls becomes a call of `__tngImport`, which the loader
 * (src/cli/boot.ts) passes in. The calls are found by parsing the bundle (its comments mention import() too),
 * and they must be exactly as many as the metafile lists.
 */
async function rewriteDynamicImports(file, metafile) {
  const text = await readFile(file, 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.JS);
  const calls = [];
  const visit = (node) => {
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) calls.push(node.expression.getStart(source));
    ts.forEachChild(node, visit);
  };
  visit(source);
  const expected = metafile.outputs[file].imports.filter((edge) => edge.kind === 'dynamic-import').length;
  if (calls.length !== expected) throw new Error(`${file}: ${calls.length} import() calls, the metafile lists ${expected}`);
  let rewritten = text;
  for (const at of calls.sort((a, b) => b - a)) rewritten = `${rewritten.slice(0, at)}__tngImport${rewritten.slice(at + 'import'.length)}`;
  await writeFile(file, rewritten);
}

await rm(new URL('../dist', import.meta.url), { recursive: true, force: true });
const esm = new Set();
const cold = new Set();
const hot = await build({
  ...commonJs,
  entryPoints: { cli: 'src/cli/entry.ts' },
  plugins: [
    splitDynamicImports({
      esm,
      elsewhere: (source) => {
        if (WARM.has(source)) return undefined;
        cold.add(source);
        return `./cold.cjs#${source}`;
      },
    }),
    leaveAxiosOut,
  ],
});
await rewriteDynamicImports('dist/cli.cjs', hot.metafile);
const coldBuild = await build({
  ...commonJs,
  entryPoints: { cold: 'tng:cold-entry' },
  plugins: [coldEntry(cold), splitDynamicImports({ esm }), leaveAxiosOut],
});
await rewriteDynamicImports('dist/cold.cjs', coldBuild.metafile);
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
  entryPoints: { main: 'src/main.ts', ...Object.fromEntries([...esm].map((source) => [esmEntryName(source), source])) },
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
await writeFile(new URL('../build/meta-cold.json', import.meta.url), JSON.stringify(coldBuild.metafile));

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
