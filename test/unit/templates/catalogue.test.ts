import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initCommand, type InitOptions, type InitTemplateOptions, runInitTemplate } from '../../../src/commands/init.ts';
import { createDeps } from '../../../src/deps.ts';
import { isTngError } from '../../../src/errors.ts';
import { TEMPLATES as CATALOGUE, findTemplate, listTemplates, packageRoot } from '../../../src/templates/catalogue.ts';
import { writeTemplate } from '../../../src/templates/write.ts';
import { ROOT, TEMPLATES } from './helpers.ts';

let scratch: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'tng-templates-'));
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

function captureIo() {
  const out: string[] = [];
  const err: string[] = [];
  const io = {
    colour: false,
    canPrompt: () => false,
    out: (text: string) => void out.push(text),
    info: (line: string) => void err.push(line),
    warn: (line: string) => void err.push(`warning: ${line}`),
    readStdin: async () => '',
    flush: async () => undefined,
    ask: async () => '',
    askSecret: async () => '',
  };
  return { io, stdout: () => out.join(''), stderr: () => err.join('\n') };
}

const usage = (code: string) => (error: unknown) => isTngError(error, 'usage') && error.code === code;

describe('template catalogue', () => {
  it('finds the package root from src/, dist/ and dist/chunks/, and nothing outside the package', async () => {
    assert.equal(await packageRoot(), ROOT);
    assert.equal(await packageRoot(join(ROOT, 'dist')), ROOT);
    assert.equal(await packageRoot(join(ROOT, 'dist', 'chunks')), ROOT);
    await assert.rejects(packageRoot(scratch), (error: unknown) => isTngError(error, 'internal') && error.code === 'templates.missing');
  });

  it('names exactly the directories under templates/, each with its files', async () => {
    const dirs = (await readdir(TEMPLATES, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
    assert.deepEqual(CATALOGUE.map((t) => t.name).sort(), dirs.sort());
    const templates = await listTemplates();
    assert.deepEqual(templates.map((t) => t.name), ['dex', 'lambda', 'vault']);
    const lambda = templates.find((t) => t.name === 'lambda');
    assert.ok(lambda?.files.includes('handler/index.ts') && lambda.files.includes('main.tf') && lambda.files.includes('README.md'));
    assert.deepEqual(templates.find((t) => t.name === 'dex')?.files, ['README.md', 'config.yaml']);
    for (const t of templates) assert.ok(t.description.length > 20 && t.next('DIR').length > 0, t.name);
  });

  it('never ships Terraform state or caches found in a template directory', async () => {
    const root = join(scratch, 'pkg');
    await mkdir(join(root, 'templates', 'vault', '.terraform', 'providers'), { recursive: true });
    await writeFile(join(root, 'package.json'), '{"name":"tng"}');
    await writeFile(join(root, 'templates', 'vault', 'main.tf'), '');
    await writeFile(join(root, 'templates', 'vault', 'terraform.tfstate'), '{}');
    await writeFile(join(root, 'templates', 'vault', 'terraform.tfstate.backup'), '{}');
    await writeFile(join(root, 'templates', 'vault', '.terraform', 'providers', 'x'), '');
    assert.deepEqual((await findTemplate('vault', root)).files, ['main.tf']);
  });

  it('refuses an unknown template, naming the known ones', async () => {
    await assert.rejects(findTemplate('lamda'), (error: unknown) => usage('init.template-unknown')(error) && /"lamda".*dex, lambda, vault/.test((error as Error).message));
  });
});

describe('writing a template', () => {
  it('copies every file, byte for byte, creating the directory', async () => {
    const template = await findTemplate('lambda');
    const dir = join(scratch, 'new', 'fn');
    const result = await writeTemplate(template, dir, { force: false });
    assert.equal(result.dir, dir);
    assert.deepEqual(result.files, template.files);
    assert.deepEqual(result.replaced, []);
    for (const file of template.files) assert.deepEqual(await readFile(join(dir, file)), await readFile(join(template.source, file)), file);
  });

  it('refuses existing files without --force, naming them, and writes nothing', async () => {
    const template = await findTemplate('vault');
    const dir = join(scratch, 'existing');
    await mkdir(dir);
    await writeFile(join(dir, 'jwt.tf'), 'mine');
    await writeFile(join(dir, 'kv.tf'), 'mine too');
    await assert.rejects(writeTemplate(template, dir, { force: false }), (error: unknown) => usage('init.template-exists')(error) && /jwt\.tf, kv\.tf; nothing was written/.test((error as Error).message) && /--force/.test((error as { hint: string }).hint));
    assert.deepEqual((await readdir(dir)).sort(), ['jwt.tf', 'kv.tf']);
    assert.equal(await readFile(join(dir, 'jwt.tf'), 'utf8'), 'mine');

    const forced = await writeTemplate(template, dir, { force: true });
    assert.deepEqual(forced.replaced, ['jwt.tf', 'kv.tf']);
    assert.deepEqual(await readFile(join(dir, 'jwt.tf')), await readFile(join(template.source, 'jwt.tf')));
  });

  it('refuses a file as the target, and a directory where a template file goes even with --force', async () => {
    const template = await findTemplate('dex');
    const file = join(scratch, 'a-file');
    await writeFile(file, '');
    await assert.rejects(writeTemplate(template, file, { force: true }), usage('init.template-target'));
    const dir = join(scratch, 'blocked');
    await mkdir(join(dir, 'config.yaml'), { recursive: true });
    await assert.rejects(writeTemplate(template, dir, { force: true }), usage('init.template-blocked'));
    assert.ok((await stat(join(dir, 'config.yaml'))).isDirectory());
  });
});

describe('tng init --template / --list-templates', () => {
  it('lists the templates on stderr, or as JSON on stdout', async () => {
    const human = captureIo();
    assert.equal(await runInitTemplate({ action: 'list', force: false, json: false }, { io: human.io }), 0);
    assert.equal(human.stdout(), '');
    assert.match(human.stderr(), /^dex {5}Dex config/m);
    assert.match(human.stderr(), /^lambda {2}Terraform module/m);
    assert.match(human.stderr(), /^vault {3}Terraform for Vault/m);

    const machine = captureIo();
    await runInitTemplate({ action: 'list', force: false, json: true }, { io: machine.io });
    const listed = JSON.parse(machine.stdout()) as Array<{ name: string; description: string; files: string[] }>;
    assert.deepEqual(listed.map((t) => t.name), ['dex', 'lambda', 'vault']);
    assert.ok(listed.every((t) => t.description && t.files.length > 0));
    assert.equal(machine.stderr(), '');
  });

  it('writes a template, saying on stderr what it wrote and what comes next', async () => {
    const { io, stdout, stderr } = captureIo();
    const dir = join(scratch, 'cli-dex');
    assert.equal(await runInitTemplate({ action: 'write', template: 'dex', dir, force: false, json: false }, { io }), 0);
    assert.equal(stdout(), '');
    assert.match(stderr(), new RegExp(`Wrote the dex template to ${dir} \\(2 files\\):\\n  README\\.md\\n  config\\.yaml\\nNext:\\n  1\\. `));
    const json = captureIo();
    await runInitTemplate({ action: 'write', template: 'dex', dir, force: true, json: true }, { io: json.io });
    assert.deepEqual(JSON.parse(json.stdout()), { template: 'dex', dir, files: ['README.md', 'config.yaml'], replaced: ['README.md', 'config.yaml'] });
  });

  function parse(args: string[]) {
    const seen: { profile: InitOptions[]; template: InitTemplateOptions[] } = { profile: [], template: [] };
    const command = initCommand(
      createDeps({}, new AbortController().signal),
      () => undefined,
      async (options) => {
        seen.profile.push(options);
        return 0;
      },
      async (options) => {
        seen.template.push(options);
        return 0;
      },
    );
    return { seen, parsed: command.parseAsync(args, { from: 'user' }) };
  }

  it('passes --template NAME DIR [--force] [--json] and --list-templates to the template run, not the profile run', async () => {
    const write = parse(['--template', 'lambda', 'out/fn', '--force']);
    await write.parsed;
    assert.deepEqual(write.seen, { profile: [], template: [{ action: 'write', template: 'lambda', dir: 'out/fn', force: true, json: false }] });
    const list = parse(['--list-templates', '--json']);
    await list.parsed;
    assert.deepEqual(list.seen.template, [{ action: 'list', force: false, json: true }]);
    const profile = parse(['--issuer', 'https://dex.example.com/dex']);
    await profile.parsed;
    assert.equal(profile.seen.template.length, 0);
    assert.equal(profile.seen.profile.length, 1);
  });

  it('refuses mixtures as usage errors (exit 2)', async () => {
    const cases: Array<[string[], string]> = [
      [['--template', 'lambda'], 'init.template-dir'],
      [['--template', 'lambda', 'dir', '--issuer', 'https://dex.example.com/dex'], 'init.template-flag'],
      [['--template', 'lambda', 'dir', '--list-templates'], 'init.template-flag'],
      [['--list-templates', 'dir'], 'init.argument'],
      [['--list-templates', '--force'], 'init.template-flag'],
      [['somedir'], 'init.argument'],
      [['--force'], 'init.template-flag'],
      [['--json'], 'init.template-flag'],
    ];
    for (const [args, code] of cases) {
      const { seen, parsed } = parse(args);
      await assert.rejects(parsed, usage(code), args.join(' '));
      assert.deepEqual(seen, { profile: [], template: [] }, args.join(' '));
    }
  });
});
