/** Reads the templates the way Terraform would: every .tf of a directory parsed by HashiCorp's parser and merged. */
import { parse } from '@cdktf/hcl2json';
import { readFile, readdir } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const TEMPLATES = join(ROOT, 'templates');

export type Body = Record<string, any>;

export interface ParsedFile {
  /** Relative to templates/. */
  file: string;
  text: string;
  json: Body;
}

export interface Module {
  files: ParsedFile[];
  resources: Record<string, Record<string, Body>>;
  data: Record<string, Record<string, Body>>;
  variables: Record<string, Body>;
  outputs: Record<string, Body>;
  locals: Record<string, unknown>;
  terraform: Body[];
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(path)));
    else out.push(path);
  }
  return out.sort();
}

/** Every file under templates/ whose name ends with `suffix`, absolute. */
export async function templateFiles(suffix: string): Promise<string[]> {
  return (await walk(TEMPLATES)).filter((path) => path.endsWith(suffix));
}

export async function parseTf(path: string): Promise<ParsedFile> {
  const text = await readFile(path, 'utf8');
  return { file: relative(TEMPLATES, path), text, json: (await parse(path, text)) as Body };
}

function only(list: unknown, where: string): Body {
  if (!Array.isArray(list) || list.length !== 1) throw new Error(`${where} is declared ${Array.isArray(list) ? list.length : 0} times`);
  return list[0] as Body;
}

/** One Terraform module: the .tf files directly in templates/<name>, merged; a name declared twice throws. */
export async function loadModule(name: string): Promise<Module> {
  const dir = join(TEMPLATES, name);
  const paths = (await readdir(dir)).filter((f) => f.endsWith('.tf')).map((f) => join(dir, f));
  const module: Module = { files: [], resources: {}, data: {}, variables: {}, outputs: {}, locals: {}, terraform: [] };
  const add = (target: Record<string, Body>, key: string, body: Body) => {
    if (key in target) throw new Error(`${name}: ${key} is declared twice`);
    target[key] = body;
  };
  for (const path of paths.sort()) {
    const parsed = await parseTf(path);
    module.files.push(parsed);
    const json = parsed.json;
    for (const [kind, into] of [['resource', module.resources], ['data', module.data]] as const) {
      for (const [type, named] of Object.entries((json[kind] ?? {}) as Body)) {
        into[type] ??= {};
        for (const [label, list] of Object.entries(named as Body)) add(into[type] as Record<string, Body>, label, only(list, `${kind} ${type}.${label}`));
      }
    }
    for (const [label, list] of Object.entries((json.variable ?? {}) as Body)) add(module.variables, label, only(list, `variable ${label}`));
    for (const [label, list] of Object.entries((json.output ?? {}) as Body)) add(module.outputs, label, only(list, `output ${label}`));
    for (const locals of (json.locals ?? []) as Body[]) for (const [key, value] of Object.entries(locals)) add(module.locals as Body, key, value);
    module.terraform.push(...((json.terraform ?? []) as Body[]));
  }
  return module;
}

/** The single resource (or data source) of that type and name; fails the test when missing. */
export function resource(module: Module, type: string, name: string, kind: 'resources' | 'data' = 'resources'): Body {
  const body = module[kind][type]?.[name];
  if (body === undefined) throw new Error(`${type}.${name} is missing`);
  return body;
}

/** The single nested block `key` of a body (hcl2json gives blocks as arrays). */
export function nested(body: Body, key: string): Body {
  const list = body[key];
  if (!Array.isArray(list) || list.length !== 1) throw new Error(`expected exactly one ${key} block, found ${JSON.stringify(list)}`);
  return list[0] as Body;
}
