import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createWorld, ROOT, type World } from './harness.ts';

const TEMPLATE_FILES = {
  lambda: ['README.md', 'dlq.tf', 'handler/index.ts', 'iam.tf', 'main.tf', 'outputs.tf', 'secret.tf', 'signing.tf', 'variables.tf', 'versions.tf'],
};

let world: World;
before(async () => {
  world = await createWorld();
});
after(async () => {
  await world.dispose();
});

describe('tng init templates (built binary)', () => {
  it('--list-templates names each template on stderr; --json puts them on stdout', async () => {
    const human = await world.run(['init', '--list-templates']);
    assert.equal(human.code, 0, human.stderr);
    assert.equal(human.stdout, '');
    for (const name of ['dex', 'lambda', 'vault']) assert.match(human.stderr, new RegExp(`^${name} +\\S`, 'm'));

    const json = await world.run(['init', '--list-templates', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const listed = JSON.parse(json.stdout) as Array<{ name: string; files: string[] }>;
    assert.deepEqual(listed.map((t) => t.name), ['dex', 'lambda', 'vault']);
    assert.deepEqual(listed.find((t) => t.name === 'lambda')?.files, TEMPLATE_FILES.lambda);
  });

  it('--template lambda DIR writes the module and handler, refuses to overwrite, and --force overwrites', async () => {
    const dir = join(world.home, 'work', 'webhook');
    const first = await world.run(['init', '--template', 'lambda', dir]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, '');
    assert.match(first.stderr, /Wrote the lambda template to .*webhook \(10 files\)/);
    assert.match(first.stderr, /Next:\n {2}1\. /);
    assert.match(first.stderr, /TF_VAR_tng_audit_id=\$TNG_AUDIT_ID/);
    for (const file of TEMPLATE_FILES.lambda) {
      assert.deepEqual(await readFile(join(dir, file)), await readFile(join(ROOT, 'templates', 'lambda', file)), file);
    }
    assert.doesNotMatch(await readFile(world.config, 'utf8').catch(() => ''), /\S/, 'the config is not touched');

    await writeFile(join(dir, 'main.tf'), '# my edits\n');
    const again = await world.run(['init', '--template', 'lambda', dir]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /^tng: .*already has .*main\.tf.*nothing was written\.\nhint: .*--force/m);
    assert.equal(await readFile(join(dir, 'main.tf'), 'utf8'), '# my edits\n');

    const forced = await world.run(['init', '--template', 'lambda', dir, '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.deepEqual(await readFile(join(dir, 'main.tf')), await readFile(join(ROOT, 'templates', 'lambda', 'main.tf')));
  });

  it('an unknown template or a missing DIR is exit 2 with the templates named', async () => {
    const unknown = await world.run(['init', '--template', 'lamda', join(world.home, 'x')]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no template "lamda"; the templates are: dex, lambda, vault/);
    assert.match(unknown.stderr, /^hint: /m);
    for (const args of [[], ['']]) {
      const noDir = await world.run(['init', '--template', 'vault', ...args]);
      assert.equal(noDir.code, 2);
      assert.match(noDir.stderr, /needs a directory/);
    }
  });

  it('a DIR that cannot be made (below a file, or where nothing may be created) is exit 2 naming it, not an internal error', async () => {
    const file = join(world.home, 'a-file');
    await writeFile(file, '');
    for (const dir of [join(file, 'sub'), '/proc/tng-template']) {
      const result = await world.run(['init', '--template', 'dex', dir]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, new RegExp(`^tng: Cannot write (into )?${dir}\\S* \\((ENOTDIR|ENOENT|EACCES|EROFS)\\)\\.$`, 'm'));
      assert.match(result.stderr, /^hint: Give a /m);
    }
  });

  it('writes into an existing directory beside other files', async () => {
    const dir = join(world.home, 'platform');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'notes.txt'), 'keep');
    const result = await world.run(['init', '--template', 'dex', dir, '--json']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), { template: 'dex', dir, files: ['README.md', 'config.yaml'], replaced: [] });
    assert.equal(await readFile(join(dir, 'notes.txt'), 'utf8'), 'keep');
  });
});
