import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { initCommand, type InitOptions } from '../../src/commands/init.ts';
import { loginCommand, type LoginOptions } from '../../src/commands/login.ts';
import { createDeps } from '../../src/deps.ts';
import { ExitCode } from '../../src/errors.ts';
import { VERSION } from '../../src/version.ts';

describe('the program', () => {
  it('keeps src/version.ts equal to package.json', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    assert.equal(VERSION, pkg.version);
  });

  it('exit codes are the contract table', () => {
    assert.deepEqual(ExitCode, { ok: 0, internal: 1, usage: 2, noSession: 3, denied: 4, authenticator: 5, unavailable: 6, keychain: 7, verification: 8, interrupted: 130 });
  });

  it('login flags reach the run function', async () => {
    const seen: LoginOptions[] = [];
    const deps = createDeps({}, new AbortController().signal);
    let code = -1;
    const command = loginCommand(deps, (c) => (code = c), async (options) => {
      seen.push(options);
      return 0;
    });
    await command.parseAsync(['--device-code', '--no-browser', '--profile', 'work'], { from: 'user' });
    assert.deepEqual(seen, [{ profile: 'work', deviceCode: true, noBrowser: true }]);
    assert.equal(code, 0);
  });

  it('init turns --kebab-case flags into profile keys', async () => {
    const seen: InitOptions[] = [];
    const deps = createDeps({}, new AbortController().signal);
    const command = initCommand(deps, () => undefined, async (options) => {
      seen.push(options);
      return 0;
    });
    await command.parseAsync(['--issuer', 'https://dex/dex', '--client-id', 'tng', '--redirect-port', '8250', '--scopes', 'openid,email', '--aws-credential-type', 'creds', '--client-secret-stdin'], { from: 'user' });
    assert.deepEqual(seen[0]?.values, { issuer: 'https://dex/dex', client_id: 'tng', redirect_port: 8250, scopes: ['openid', 'email'], aws_credential_type: 'creds' });
    assert.equal(seen[0]?.clientSecretStdin, true);
  });
});
