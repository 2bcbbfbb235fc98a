/**
 * SECURITY.md maps each claim and each row of the fault matrix to a test: `` `file` › *test name* ``. This
 * keeps those references true — every file exists and every name is a test in it — and checks that every
 * fault the issue names has a row.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Every (file, test name) SECURITY.md refers to; a `; *name*` after a reference names another test of the same file. */
function references(text: string): Array<{ file: string; name: string }> {
  const found: Array<{ file: string; name: string }> = [];
  for (const line of text.split('\n')) {
    let file: string | undefined;
    for (const match of line.matchAll(/`(test\/[^`]+\.test\.ts)` › \*([^*]+)\*|; \*([^*]+)\*/g)) {
      if (match[1] !== undefined) {
        file = match[1];
        found.push({ file, name: match[2] as string });
      } else if (file !== undefined) {
        found.push({ file, name: match[3] as string });
      }
    }
  }
  return found;
}

describe('SECURITY.md', () => {
  it('every test it cites exists, under that name, in that file', async () => {
    const text = await readFile(join(ROOT, 'SECURITY.md'), 'utf8');
    const cited = references(text);
    assert.ok(cited.length >= 60, `only ${cited.length} references found`);
    const sources = new Map<string, string>();
    for (const { file, name } of cited) {
      if (!sources.has(file)) {
        // Test names are string literals: read them with their escapes undone.
        sources.set(file, (await readFile(join(ROOT, file), 'utf8')).replace(/\\(['"`\\])/g, '$1'));
      }
      const source = sources.get(file) as string;
      assert.ok(new RegExp(`\\bit\\(\\s*['"\`]${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`).test(source), `${file} has no test named "${name}"`);
    }
  });

  it('the fault matrix has a row for every fault of the issue', async () => {
    const text = await readFile(join(ROOT, 'SECURITY.md'), 'utf8');
    const matrix = text.slice(text.indexOf('## Failing safe'));
    const rows = matrix.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| fault') && !l.startsWith('|---'));
    for (const fault of [
      'issuer down', 'issuer slow', 'issuer 500', 'JWKS rotated', 'Vault sealed', 'Vault standby', 'Vault 403', 'Vault 429', 'Vault 500 once',
      'TLS certificate untrusted', 'refresh token expired', 'refresh token revoked', 'Vault token revoked from outside', 'clock skew',
      'keychain absent', 'keychain locked', 'state dir read-only', 'state dir full', 'authenticator absent', 'unplugged mid-command',
      'touch denied', 'touch timed out', 'PIN wrong', 'PIN blocked', 'two `tng login` at once', 'Ctrl-C while waiting for the browser',
      'Ctrl-C while waiting for the touch', 'Ctrl-C at the PIN prompt', 'Ctrl-C while waiting for another login', 'logout with Vault failing',
    ]) {
      const row = rows.find((r) => r.includes(fault));
      assert.ok(row, `no row for "${fault}"`);
      assert.match(row, /`test\/[^`]+\.test\.ts` › \*/, `the row for "${fault}" names no test`);
    }
  });
});
