import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { makeDirectory } from '../../../src/state/make-dir.ts';
import { tempDirs } from '../../temp-dirs.ts';

const newDir = tempDirs('mkdir');

describe('makeDirectory', () => {
  it('makes every missing directory of the path with the mode, and accepts one that exists', async () => {
    const root = await newDir();
    const deep = join(root, 'a', 'b', 'c');
    makeDirectory(deep);
    for (const dir of [join(root, 'a'), join(root, 'a', 'b'), deep]) assert.equal((await stat(dir)).mode & 0o777, 0o700, dir);
    makeDirectory(deep);
    assert.ok((await stat(deep)).isDirectory());
  });

  it('fails where a file stands in the way', async () => {
    const root = await newDir();
    await writeFile(join(root, 'file'), '');
    assert.throws(() => makeDirectory(join(root, 'file')), { code: 'EEXIST' });
    assert.throws(() => makeDirectory(join(root, 'file', 'below')), { code: 'ENOTDIR' });
  });

  it('fails at once where the kernel refuses a directory under a parent that exists (/proc), where Node\'s recursive mkdir never returns', () => {
    // In a child process with a deadline: the failure this guards against is a loop that never returns.
    const script = `import { makeDirectory } from ${JSON.stringify(new URL('../../../src/state/make-dir.ts', import.meta.url).href)};
try { makeDirectory('/proc/tng-none/state'); console.log('made'); } catch (error) { console.log(error.code); }`;
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(result.signal, null, 'makeDirectory returned');
    assert.equal(result.stdout.trim(), 'ENOENT', result.stderr);
  });
});
