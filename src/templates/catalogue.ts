import { readFile, readdir } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TngError, usageError } from '../errors.ts';

/** What `tng init --template` can write: one directory under the package's `templates/` each. */
export interface TemplateInfo {
  name: string;
  description: string;
  /** What to do after writing the template into `dir`, one step a line. */
  next(dir: string): string[];
}

export interface Template extends TemplateInfo {
  /** The template's directory in the package. */
  source: string;
  /** Its files, relative, with `/` separators, sorted. */
  files: string[];
}

export const TEMPLATES: readonly TemplateInfo[] = [
  {
    name: 'dex',
    description: 'Dex config: a public tng client (any loopback port, device flow), a Vault client, refresh-token expiry',
    next: (dir) => [
      `Replace the example.com names and the connector in ${join(dir, 'config.yaml')}.`,
      'Give Dex DEX_DB_PASSWORD, DEX_VAULT_CLIENT_SECRET, DEX_SSO_CLIENT_ID and DEX_SSO_CLIENT_SECRET in its environment.',
      'Then: tng init --issuer https://dex.example.com/dex --client-id tng … (see README.md there).',
    ],
  },
  {
    name: 'lambda',
    description: 'Terraform module and TypeScript handler: a code-signed Lambda in private subnets with an encrypted DLQ, reading its secret from Vault',
    next: (dir) => [
      `Build the handler into ${join(dir, 'build', 'function.zip')} (see README.md there).`,
      `cd ${dir} && terraform init`,
      "tng exec -- sh -c 'TF_VAR_tng_audit_id=$TNG_AUDIT_ID terraform apply'",
      'Add the role_arn output to lambda_functions in the vault template, then: tng lambda verify FUNCTION',
    ],
  },
  {
    name: 'vault',
    description: 'Terraform for Vault: JWT auth bound to Dex (role engineer), the AWS secrets engine (STS), AWS auth for Lambda, KV v2, policies',
    next: (dir) => [
      `cd ${dir} && terraform init`,
      'terraform apply (the first time with a Vault administrator token; see README.md there)',
      'Then: tng init --vault-addr https://vault.example.com $(terraform output -raw tng_init_flags)',
    ],
  },
];

// Never shipped, even if they turn up in a template directory during development: Terraform state can
// hold secrets, and provider caches are large and machine-specific.
const SKIPPED = /^(\.terraform|node_modules|build)$|\.tfstate(\.backup)?$|^\.DS_Store$/;

const here = dirname(fileURLToPath(import.meta.url));
let rootCache: Promise<string> | undefined;

/**
 * The package's directory: the nearest ancestor (of `start`, by default this module's directory) that
 * holds tng's package.json and a templates/ directory. Found by walking up because this module runs as
 * src/templates/ (tests), inside dist/main.js or a chunk under dist/chunks/ (the bundle), or from
 * node_modules/tng.
 */
export function packageRoot(start?: string): Promise<string> {
  if (start !== undefined) return findRoot(start);
  rootCache ??= findRoot(here);
  return rootCache;
}

async function findRoot(start: string): Promise<string> {
  for (let dir = start; ; dir = dirname(dir)) {
    if (await isTngPackage(dir)) return dir;
    if (dirname(dir) === dir) break;
  }
  throw new TngError('internal', 'templates.missing', `tng's templates directory was not found above ${start}.`, {
    hint: 'Reinstall tng: its package ships a templates/ directory beside dist/.',
  });
}

async function isTngPackage(dir: string): Promise<boolean> {
  try {
    const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { name?: unknown };
    if (pkg.name !== 'tng') return false;
    await readdir(join(dir, 'templates'));
    return true;
  } catch {
    return false;
  }
}

async function walk(dir: string, prefix = ''): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    if (SKIPPED.test(entry.name)) continue;
    const relative = prefix === '' ? entry.name : posix.join(prefix, entry.name);
    if (entry.isDirectory()) files.push(...(await walk(join(dir, entry.name), relative)));
    else if (entry.isFile()) files.push(relative);
  }
  return files;
}

/** Every template with its files, in name order. */
export async function listTemplates(root?: string): Promise<Template[]> {
  const base = join(root ?? (await packageRoot()), 'templates');
  return Promise.all(
    TEMPLATES.map(async (info) => {
      const source = join(base, info.name);
      return { ...info, source, files: (await walk(source)).sort() };
    }),
  );
}

/** The named template; an unknown name is a usage error that lists the known ones. */
export async function findTemplate(name: string, root?: string): Promise<Template> {
  const info = TEMPLATES.find((t) => t.name === name);
  if (info === undefined) {
    const names = TEMPLATES.map((t) => t.name).join(', ');
    throw usageError('init.template-unknown', `There is no template "${name}"; the templates are: ${names}.`, 'Run `tng init --list-templates` to see what each one holds.');
  }
  const source = join(root ?? (await packageRoot()), 'templates', info.name);
  return { ...info, source, files: (await walk(source)).sort() };
}
