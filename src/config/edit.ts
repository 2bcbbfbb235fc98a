import { isDeepStrictEqual } from 'node:util';
import { parse, stringify } from 'smol-toml';

/**
 * Edits config.toml's text in place so that it reads as `wanted`, keeping the person's comments, order and
 * layout wherever tng changes nothing: a changed key's line is replaced, a new key goes after its table's
 * last key, a new profile is appended, a changed array of tables (`fido2`) is rewritten where it stood.
 * Returns undefined when the text is laid out in a way this does not edit (dotted or inline profile keys, a
 * table split in two); the caller then writes the file anew. The result is checked by parsing it back, so an
 * edit is either exactly `wanted` or not made.
 */
export function editConfigText(text: string, wanted: Record<string, unknown>): string | undefined {
  let old: Record<string, unknown>;
  try {
    old = parse(text);
  } catch {
    return undefined;
  }
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.split(/\r?\n/);
  try {
    if (!editDocument(lines, old, wanted)) return undefined;
  } catch {
    return undefined;
  }
  const edited = lines.join(eol);
  try {
    return isDeepStrictEqual(parse(edited), parse(stringify(wanted))) ? edited : undefined;
  } catch {
    return undefined;
  }
}

type Table = Record<string, unknown>;

interface Header {
  path: string[];
  line: number;
}

/** A key/value pair: its first key and the lines it spans, `end` exclusive. */
interface Pair {
  key: string;
  start: number;
  end: number;
}

interface Section {
  /** Undefined for the lines before the first header. */
  header?: Header;
  pairs: Pair[];
  /** The first line after the section. */
  end: number;
}

const PROBE_LIMIT = 200;

/** The document's sections, each with its pairs; a multi-line value is one pair, found by parsing. */
function sectionsOf(lines: string[]): Section[] {
  const sections: Section[] = [{ pairs: [], end: lines.length }];
  for (let i = 0; i < lines.length; ) {
    const trimmed = (lines[i] as string).trim();
    const current = sections[sections.length - 1] as Section;
    if (trimmed === '' || trimmed.startsWith('#')) {
      i++;
    } else if (trimmed.startsWith('[')) {
      current.end = i;
      sections.push({ header: { path: headerPath(trimmed), line: i }, pairs: [], end: lines.length });
      i++;
    } else {
      const end = pairEnd(lines, i);
      current.pairs.push({ key: Object.keys(parse(lines.slice(i, end).join('\n')))[0] as string, start: i, end });
      i = end;
    }
  }
  return sections;
}

/** The dotted key path of a `[a."b.c"]` or `[[a.b]]` header, read by the TOML parser itself. */
function headerPath(header: string): string[] {
  const path: string[] = [];
  let node: unknown = parse(header);
  for (;;) {
    if (Array.isArray(node)) node = node[0];
    const keys = Object.keys(node as Table);
    if (keys.length !== 1) return path;
    const key = keys[0] as string;
    path.push(key);
    node = (node as Table)[key];
  }
}

function pairEnd(lines: string[], start: number): number {
  for (let end = start + 1; end <= Math.min(lines.length, start + PROBE_LIMIT); end++) {
    try {
      parse(lines.slice(start, end).join('\n'));
      return end;
    } catch {
      // the value goes on over the next line
    }
  }
  throw new Error(`no complete key/value pair from line ${start + 1}`);
}

const startsWith = (path: string[], prefix: string[]) => prefix.every((part, i) => path[i] === part);

/** A value TOML writes as tables of its own (`[[profiles.x.fido2]]`) rather than on its key's line. */
const isTableValued = (value: unknown) =>
  (typeof value === 'object' && value !== null && !Array.isArray(value)) ||
  (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'object' && v !== null && !Array.isArray(v)));

const blockLines = (value: Table) => stringify(value).trimEnd().split('\n');
const pairLines = (key: string, value: unknown) => blockLines({ [key]: value });

function editDocument(lines: string[], old: Table, wanted: Table): boolean {
  const preamble = sectionsOf(lines)[0] as Section;
  if (preamble.pairs.some((pair) => pair.key !== 'default_profile')) return false;
  if (!isDeepStrictEqual(old.default_profile, wanted.default_profile)) setDefaultProfile(lines, wanted.default_profile);

  const oldProfiles = (old.profiles ?? {}) as Record<string, Table>;
  const wantedProfiles = (wanted.profiles ?? {}) as Record<string, Table>;
  for (const name of Object.keys(oldProfiles)) {
    if (!(name in wantedProfiles)) removeSections(lines, ['profiles', name]);
  }
  for (const [name, table] of Object.entries(wantedProfiles)) {
    const before = oldProfiles[name];
    if (before === undefined) appendBlock(lines, blockLines({ profiles: { [name]: table } }));
    else if (!isDeepStrictEqual(before, table) && !editProfile(lines, name, before, table)) return false;
  }
  return true;
}

function setDefaultProfile(lines: string[], value: unknown): void {
  const preamble = sectionsOf(lines)[0] as Section;
  const pair = preamble.pairs[0];
  const replacement = value === undefined ? [] : pairLines('default_profile', value);
  if (pair !== undefined) {
    lines.splice(pair.start, pair.end - pair.start, ...replacement);
    return;
  }
  if (replacement.length === 0) return;
  // After the file's opening comment block, and apart from whatever follows (a header's own comment, say).
  let at = 0;
  while (at < preamble.end && (lines[at] as string).trim().startsWith('#')) at++;
  if (at > 0 && at < lines.length && (lines[at] as string).trim() !== '') at = 0;
  if (at > 0) replacement.unshift('');
  if (at < lines.length && (lines[at] as string).trim() !== '') replacement.push('');
  lines.splice(at, 0, ...replacement);
}

/**
 * Removes the sections under `prefix`, each from its header to its last pair and the blank lines after; a
 * comment after its last pair stays, as it reads as the next header's. Returns where the first one stood.
 */
function removeSections(lines: string[], prefix: string[]): number | undefined {
  let first: number | undefined;
  for (const section of sectionsOf(lines).reverse()) {
    if (!section.header || !startsWith(section.header.path, prefix)) continue;
    const start = section.header.line;
    let end = bodyEnd(section);
    while (end < section.end && (lines[end] as string).trim() === '') end++;
    lines.splice(start, end - start);
    first = start;
  }
  return first;
}

function appendBlock(lines: string[], block: string[]): void {
  while (lines.length > 0 && (lines[lines.length - 1] as string).trim() === '') lines.pop();
  lines.push('', ...block, '');
}

function editProfile(lines: string[], name: string, before: Table, after: Table): boolean {
  const own = ['profiles', name];
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const value = after[key];
    if (isDeepStrictEqual(before[key], value)) continue;
    const main = sectionsOf(lines).find((s) => s.header && isDeepStrictEqual(s.header.path, own));
    const pair = main?.pairs.find((p) => p.key === key);
    // Written as tables of their own before: those go, and what replaces them stands where they stood.
    const at = pair === undefined && isTableValued(before[key]) ? removeSections(lines, [...own, key]) : undefined;
    if (isTableValued(value)) {
      if (pair !== undefined) return false; // written inline: left to the whole-file rewrite
      const block = blockLines({ profiles: { [name]: { [key]: value } } });
      if (at === undefined) insertAfterProfile(lines, name, block);
      else lines.splice(at, 0, ...block, '');
    } else if (pair !== undefined) {
      const replacement = value === undefined ? [] : pairLines(key, value);
      const comment = trailingComment(lines, pair);
      if (comment !== undefined && replacement.length === 1) replacement[0] = `${replacement[0]} ${comment}`;
      lines.splice(pair.start, pair.end - pair.start, ...replacement);
    } else if (value !== undefined && !insertPair(lines, name, key, value)) {
      return false;
    }
  }
  return true;
}

/** A new key of the profile's own table: after its last pair, or, with no such table yet, one above its arrays of tables. */
function insertPair(lines: string[], name: string, key: string, value: unknown): boolean {
  const sections = sectionsOf(lines);
  const main = sections.find((s) => s.header && isDeepStrictEqual(s.header.path, ['profiles', name]));
  if (main !== undefined) {
    lines.splice(bodyEnd(main), 0, ...pairLines(key, value));
    return true;
  }
  const first = sections.find((s) => s.header && startsWith(s.header.path, ['profiles', name]));
  if (first === undefined) return false;
  lines.splice((first.header as Header).line, 0, ...blockLines({ profiles: { [name]: { [key]: value } } }), '');
  return true;
}

function insertAfterProfile(lines: string[], name: string, block: string[]): void {
  const own = sectionsOf(lines).filter((s) => s.header && startsWith(s.header.path, ['profiles', name]));
  const last = own[own.length - 1];
  if (last === undefined) appendBlock(lines, block);
  else lines.splice(bodyEnd(last), 0, '', ...block);
}

/** The line after a section's last pair, or after its header when it has none. */
function bodyEnd(section: Section): number {
  const last = section.pairs[section.pairs.length - 1];
  return last !== undefined ? last.end : (section.header as Header).line + 1;
}

/** The comment after a one-line pair's value (`key = "v" # why`): the first `#` the value does not hold. */
function trailingComment(lines: string[], pair: Pair): string | undefined {
  if (pair.end - pair.start !== 1) return undefined;
  const line = lines[pair.start] as string;
  const whole = parse(line);
  for (let at = line.indexOf('#'); at !== -1; at = line.indexOf('#', at + 1)) {
    try {
      if (isDeepStrictEqual(parse(line.slice(0, at)), whole)) return line.slice(at);
    } catch {
      // this # is inside the value
    }
  }
  return undefined;
}
