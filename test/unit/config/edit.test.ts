import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parse, stringify } from 'smol-toml';
import { editConfigText } from '../../../src/config/edit.ts';

const HAND_WRITTEN = `# my tng profiles
# (kept in dotfiles)

default_profile = "work" # the one I use most

# the production account
[profiles.work]
issuer = "https://dex.example.com/dex"   # our Dex
client_id = "tng"
scopes = [
  "openid",   # always
  "email",
]
vault_addr = "https://vault.example.com"
vault_role = "engineer"

# an enrolled key, do not edit by hand
[[profiles.work.fido2]]
credential_id = "AAAA"
public_key = "BBBB"
aaguid = "ee882879-721c-4913-9775-3dfcce97072a"

# staging, for experiments
[profiles."stage.eu"]
issuer = "https://dex.stage.example.com"
client_id = "tng"
vault_addr = "https://vault.stage.example.com"
vault_role = "engineer"
`;

type Config = { default_profile?: string; profiles: Record<string, Record<string, unknown>> };

const parsed = (text: string) => parse(text) as unknown as Config;
const comments = (text: string) => text.split('\n').filter((line) => line.includes('#')).map((line) => line.slice(line.indexOf('#')));

function edit(text: string, change: (config: Config) => void): string {
  const config = structuredClone(parsed(text));
  change(config);
  const edited = editConfigText(text, config);
  assert.ok(edited !== undefined, 'edited in place');
  assert.deepEqual(parsed(edited), parsed(stringify(config)));
  return edited;
}

describe('config edits in place', () => {
  it('a changed key keeps every comment and every other line', () => {
    const edited = edit(HAND_WRITTEN, (c) => {
      (c.profiles.work as Record<string, unknown>).vault_role = 'admin';
    });
    assert.deepEqual(comments(edited), comments(HAND_WRITTEN));
    assert.equal(edited, HAND_WRITTEN.replace('vault_role = "engineer"', 'vault_role = "admin"'));
  });

  it('a changed one-line value keeps its trailing comment, even past a # inside the value', () => {
    const text = '[profiles.work]\nissuer = "https://dex.example.com/#x" # our Dex\nclient_id = "tng"#short\n';
    const edited = edit(text, (c) => {
      Object.assign(c.profiles.work as object, { issuer: 'https://dex.example.org', client_id: 'cli' });
    });
    assert.equal(edited, '[profiles.work]\nissuer = "https://dex.example.org" # our Dex\nclient_id = "cli" #short\n');
  });

  it('a multi-line value is replaced whole; a new key goes after the table\'s last key', () => {
    const edited = edit(HAND_WRITTEN, (c) => {
      Object.assign(c.profiles.work as object, { scopes: ['openid'], aws_region: 'eu-west-1' });
    });
    assert.match(edited, /vault_role = "engineer"\naws_region = "eu-west-1"\n\n# an enrolled key/);
    assert.match(edited, /scopes = \[ "openid" \]\nvault_addr/);
    assert.deepEqual(comments(edited), comments(HAND_WRITTEN).filter((c) => c !== '# always'));
  });

  it('an added fido2 entry rewrites the array of tables where it stood; a quoted profile name is found', () => {
    const edited = edit(HAND_WRITTEN, (c) => {
      (c.profiles.work?.fido2 as unknown[]).push({ credential_id: 'CCCC', public_key: 'DDDD', aaguid: 'ee882879-721c-4913-9775-3dfcce97072a' });
      (c.profiles['stage.eu'] as Record<string, unknown>).touch = 'never';
    });
    assert.equal((edited.match(/\[\[profiles\.work\.fido2\]\]/g) ?? []).length, 2);
    assert.match(edited, /# staging, for experiments\n\[profiles\."stage\.eu"\]/);
    assert.match(edited, /vault_role = "engineer"\ntouch = "never"\n$/);
    assert.deepEqual(comments(edited), comments(HAND_WRITTEN));
  });

  it('a new profile is appended, default_profile replaced in place, a removed key or profile taken out', () => {
    const edited = edit(HAND_WRITTEN, (c) => {
      c.default_profile = 'new';
      c.profiles.new = { issuer: 'https://dex.new.example.com', client_id: 'tng' };
      delete c.profiles['stage.eu'];
      delete (c.profiles.work as Record<string, unknown>).client_id;
    });
    assert.match(edited, /^# my tng profiles\n# \(kept in dotfiles\)\n\ndefault_profile = "new"\n/);
    assert.match(edited, /\n\[profiles\.new\]\nissuer = "https:\/\/dex\.new\.example\.com"\nclient_id = "tng"\n$/);
    assert.doesNotMatch(edited, /stage\.eu"\]|client_id = "tng"\nscopes/);
  });

  it('default_profile added to a file without one goes after its opening comment, apart from a header\'s comment', () => {
    const text = '# my file\n\n# work\n[profiles.work]\nclient_id = "tng"\n';
    assert.equal(
      edit(text, (c) => {
        c.default_profile = 'work';
      }),
      '# my file\n\ndefault_profile = "work"\n\n# work\n[profiles.work]\nclient_id = "tng"\n',
    );
    assert.equal(
      edit('[profiles.work]\nclient_id = "tng"\n', (c) => {
        c.default_profile = 'work';
      }),
      'default_profile = "work"\n\n[profiles.work]\nclient_id = "tng"\n',
    );
  });

  it('keeps CRLF line ends', () => {
    const text = HAND_WRITTEN.replace(/\n/g, '\r\n');
    const edited = edit(text, (c) => {
      (c.profiles.work as Record<string, unknown>).vault_role = 'admin';
    });
    assert.equal(edited, text.replace('vault_role = "engineer"', 'vault_role = "admin"'));
  });

  it('declines layouts it does not edit, so that the file is written anew', () => {
    const dotted = 'profiles.work.client_id = "tng"\n';
    assert.equal(editConfigText(dotted, { profiles: { work: { client_id: 'other' } } }), undefined);
    const inline = '[profiles.work]\nfido2 = [{ credential_id = "A" }]\n';
    assert.equal(editConfigText(inline, { profiles: { work: { fido2: [{ credential_id: 'A' }, { credential_id: 'B' }] } } }), undefined);
    assert.equal(editConfigText('not toml [', { profiles: {} }), undefined);
  });

  it('any change to any profile either reads back exactly as wanted or is declined (property)', () => {
    const value = fc.oneof(fc.string({ maxLength: 8 }), fc.integer({ min: 1, max: 65535 }), fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }));
    const key = fc.constantFrom('issuer', 'client_id', 'scopes', 'vault_role', 'aws_role', 'touch', 'redirect_port');
    const entry = fc.record({ credential_id: fc.string({ minLength: 1, maxLength: 6 }), public_key: fc.string({ maxLength: 6 }) });
    const profile = fc.record({ plain: fc.dictionary(key, value, { maxKeys: 5 }), fido2: fc.array(entry, { maxLength: 2 }) });
    const name = fc.constantFrom('work', 'stage.eu', 'a-b', 'x');
    const config = fc.record({ default_profile: fc.option(name, { nil: undefined }), profiles: fc.dictionary(name, profile, { maxKeys: 3 }) });
    const toBody = (c: { default_profile?: string; profiles: Record<string, { plain: Record<string, unknown>; fido2: unknown[] }> }) => {
      const body: Record<string, unknown> = {};
      if (c.default_profile !== undefined) body.default_profile = c.default_profile;
      body.profiles = Object.fromEntries(Object.entries(c.profiles).map(([n, p]) => [n, p.fido2.length > 0 ? { ...p.plain, fido2: p.fido2 } : p.plain]));
      return body;
    };
    let editedInPlace = 0;
    fc.assert(
      fc.property(config, config, fc.boolean(), (before, after, withComments) => {
        let text = stringify(toBody(before));
        if (withComments) text = text.replace(/^\[/gm, '# a comment\n[').replace(/^(\w+ = .*)$/gm, '$1 # note');
        const wanted = toBody(after);
        const edited = editConfigText(text, wanted);
        if (edited === undefined) return;
        editedInPlace++;
        assert.deepEqual(parse(edited), parse(stringify(wanted)));
      }),
      { numRuns: 400 },
    );
    assert.ok(editedInPlace > 200, `only ${editedInPlace} of 400 edited in place`);
  });
});
