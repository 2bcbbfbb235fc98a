// The hot paths stay light: `exec` and `credential-process` (and start-up, `--help`) never load ink or React.
// Proved twice: statically from esbuild's metafile (every module those commands could ever import, dynamic
// imports included), and at run time from the chunk files a real `tng exec` / `credential-process` loads.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { startSandbox, type Sandbox } from '../sandbox/index.ts';
import { ROOT, TNG, createWorld, initProfile, login, runProcess, type World } from './harness.ts';

interface Metafile {
  inputs: Record<string, { imports: Array<{ path: string; kind: string; external?: boolean }> }>;
  outputs: Record<string, { inputs: Record<string, unknown> }>;
}

/** Modules of the live UI: none of them may be reachable from the hot paths. */
const UI_ONLY = /^(node_modules\/(ink|react|react-reconciler|scheduler|yoga-layout|qrcode)\/|src\/ui\/ink\/)/;

async function metafile(): Promise<Metafile> {
  return JSON.parse(await readFile(join(ROOT, 'build', 'meta.json'), 'utf8')) as Metafile;
}

/** Every module reachable from `start`; `dynamic`: through import() too, else only through static imports. */
function reachable(meta: Metafile, start: string, dynamic: boolean): Set<string> {
  const seen = new Set<string>();
  const queue = [start];
  while (queue.length > 0) {
    const path = queue.pop() as string;
    if (seen.has(path) || meta.inputs[path] === undefined) continue;
    seen.add(path);
    for (const edge of meta.inputs[path].imports) {
      if (edge.external) continue;
      if (dynamic || edge.kind !== 'dynamic-import') queue.push(edge.path);
    }
  }
  return seen;
}

describe('the bundle keeps ink and React off the hot paths', () => {
  it('the metafile: nothing exec, credential-process or start-up can import reaches ink or React, while login and whoami do', async () => {
    const meta = await metafile();
    const bad = (set: Set<string>) => [...set].filter((p) => UI_ONLY.test(p));
    for (const command of ['src/commands/exec.ts', 'src/commands/credential-process.ts']) {
      const modules = reachable(meta, command, true);
      assert.ok(modules.has(command === 'src/commands/exec.ts' ? 'src/exec/run.ts' : 'src/aws/provider.ts'), `the walk follows ${command}'s imports`);
      assert.ok(modules.has('src/session/login.ts'), 'including the login an exec on a terminal may run');
      assert.deepEqual(bad(modules), [], `${command} can reach the live UI`);
    }
    assert.deepEqual(bad(reachable(meta, 'src/main.ts', false)), [], 'start-up and --help load the live UI');
    const entry = reachable(meta, 'src/cli/entry.ts', false);
    assert.ok(entry.has('src/cli/hot.ts'), 'the walk follows the entry');
    assert.deepEqual([...entry].filter((p) => p.startsWith('node_modules/commander/') || UI_ONLY.test(p)), [], 'the entry itself loads neither commander nor the live UI');
    // The check can fail: the interactive commands do reach ink and React.
    for (const command of ['src/commands/login.ts', 'src/commands/whoami.ts', 'src/commands/init.ts']) {
      const modules = reachable(meta, command, true);
      assert.ok(modules.has('node_modules/ink/build/index.js') && [...modules].some((p) => p.startsWith('node_modules/react/')), command);
    }
  });

  describe('at run time', () => {
    let sandbox: Sandbox;
    let world: World;
    before(async () => {
      sandbox = await startSandbox();
      world = await createWorld();
      await initProfile(world, sandbox, ['--aws-role', 'deploy']);
      const first = await login(world);
      assert.equal(first.code, 0, first.stdout);
    });
    after(async () => {
      await world.dispose();
      await sandbox.close();
    });

    /** Runs tng with a module hook that records every file Node loads; returns the dist/ files among them. */
    async function loadedChunks(args: string[]): Promise<{ code: number | null; files: string[] }> {
      const trace = join(world.home, `trace-${args[0]}.txt`);
      const hooks = `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  if (url.startsWith('file:')) appendFileSync(process.env.TNG_TEST_TRACE, url + '\\n');
  return next(url, context);
}`;
      const register = join(world.home, 'trace-hooks.mjs');
      await writeFile(register, `import { register } from 'node:module';\nregister(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)});\n`);
      await writeFile(trace, '');
      const result = await runProcess(process.execPath, ['--import', pathToFileURL(register).href, TNG, ...args], { ...world.env, TNG_TEST_TRACE: trace });
      assert.equal(result.code, 0, result.stderr);
      const dist = pathToFileURL(join(ROOT, 'dist')).href;
      const files = (await readFile(trace, 'utf8'))
        .split('\n')
        .filter((url) => url.startsWith(dist))
        .map((url) => `dist${url.slice(dist.length)}`);
      return { code: result.code, files };
    }

    for (const args of [['exec', '--', 'true'], ['credential-process']]) {
      it(`tng ${args[0]} loads no chunk that holds ink or React`, async () => {
        const meta = await metafile();
        const { files } = await loadedChunks([args[0] as string, '--profile', world.profile, ...args.slice(1)]);
        assert.ok(files.includes('dist/cli.js'), 'the trace sees the bundle');
        assert.ok(!files.includes('dist/main.js'), `the hot path loads the full program (commander): ${files.join(', ')}`);
        assert.ok(files.some((f) => f.startsWith('dist/chunks/')), `the trace sees the lazily loaded chunks: ${files.join(', ')}`);
        for (const file of files) {
          const output = meta.outputs[file];
          assert.ok(output, `${file} is in the metafile`);
          const ui = Object.keys(output.inputs).filter((p) => UI_ONLY.test(p));
          assert.deepEqual(ui, [], `${file}, loaded by tng ${args[0]}, holds live-UI modules`);
        }
      });
    }
  });
});
