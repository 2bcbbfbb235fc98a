import assert from 'node:assert/strict';
import { copyFile, lstat, mkdir, readFile, rename, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'smol-toml';
import { startSandbox, type Sandbox } from '../sandbox/index.ts';
import { createTestPki } from '../sandbox/tls.ts';
import { BROWSER_HELPER, TNG, createWorld, initProfile, runProcess } from './harness.ts';

let sandbox: Sandbox;
before(async () => {
  sandbox = await startSandbox();
});
after(async () => {
  await sandbox.close();
});

describe('tng init', () => {
  it('writes the profile with 0600 file and 0700 directory, sets the default, and updates in place', async () => {
    const world = await createWorld();
    try {
      await initProfile(world, sandbox, ['--aws-role', 'deploy', '--scopes', 'openid,email,groups,offline_access']);
      const info = await stat(world.config);
      assert.equal(info.mode & 0o777, 0o600);
      assert.equal((await stat(dirname(world.config))).mode & 0o777, 0o700);
      let config = parse(await readFile(world.config, 'utf8')) as any;
      assert.equal(config.default_profile, world.profile);
      assert.equal(config.profiles[world.profile].issuer, sandbox.issuer);
      assert.deepEqual(config.profiles[world.profile].scopes, ['openid', 'email', 'groups', 'offline_access']);

      const update = await world.run(['init', '--profile', world.profile, '--aws-region', 'eu-west-1', '--redirect-port', '18555']);
      assert.equal(update.code, 0, update.stderr);
      config = parse(await readFile(world.config, 'utf8')) as any;
      assert.equal(config.profiles[world.profile].aws_region, 'eu-west-1');
      assert.equal(config.profiles[world.profile].redirect_port, 18555);
      assert.equal(config.profiles[world.profile].aws_role, 'deploy');
    } finally {
      await world.dispose();
    }
  });

  it('with several profiles and none chosen, asks for --profile as every command does (exit 2)', async () => {
    const world = await createWorld();
    try {
      await initProfile(world, sandbox);
      const second = await world.run(['init', '--profile', 'second', '--issuer', sandbox.issuer, '--client-id', 'tng', '--vault-addr', sandbox.vaultAddr, '--vault-role', 'engineer']);
      assert.equal(second.code, 0, second.stderr);
      const config = await readFile(world.config, 'utf8');
      await writeFile(world.config, config.replace(/^default_profile = .*$/m, ''));
      const result = await world.run(['init', '--aws-region', 'eu-west-1'], { env: { TNG_PROFILE: undefined } });
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /^tng: Several profiles exist \(.*second.*\) and none is the default\.$/m);
      assert.match(result.stderr, /^hint: Pass --profile NAME/m);
    } finally {
      await world.dispose();
    }
  });

  it('refuses missing required values without a TTY, naming them (exit 2)', async () => {
    const world = await createWorld();
    try {
      const result = await world.run(['init', '--profile', 'x', '--issuer', sandbox.issuer]);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /lacks client_id, vault_addr, vault_role/);
      assert.match(result.stderr, /--client-id VALUE/);
    } finally {
      await world.dispose();
    }
  });

  it('refuses http:// outside loopback and bad values (exit 2)', async () => {
    const world = await createWorld();
    try {
      const insecure = await world.run(['init', '--issuer', 'http://dex.example.com/dex', '--client-id', 'tng', '--vault-addr', sandbox.vaultAddr, '--vault-role', 'r']);
      assert.equal(insecure.code, 2);
      assert.match(insecure.stderr, /https:\/\//);
      const badEnum = await world.run(['init', '--vault-auth', 'saml']);
      assert.equal(badEnum.code, 2);
      assert.match(badEnum.stderr, /vault_auth must be one of "jwt", "oidc"/);
      const badPort = await world.run(['init', '--redirect-port', '70000']);
      assert.equal(badPort.code, 2);
      // Values that would only fail at the first login: scopes without openid, a CA file that is not there or not PEM.
      const required = ['--issuer', sandbox.issuer, '--client-id', 'tng', '--vault-addr', sandbox.vaultAddr, '--vault-role', 'r'];
      const noOpenid = await world.run(['init', ...required, '--scopes', 'email,profile']);
      assert.equal(noOpenid.code, 2, noOpenid.stderr);
      assert.match(noOpenid.stderr, /scopes must include "openid"/);
      const noCa = await world.run(['init', ...required, '--vault-cacert', `${world.home}/no-such-ca.pem`]);
      assert.equal(noCa.code, 2, noCa.stderr);
      assert.match(noCa.stderr, /^tng: Cannot read vault_cacert .*no-such-ca\.pem/m);
      const notPem = await world.run(['init', ...required, '--vault-cacert', '/etc/hostname']);
      assert.equal(notPem.code, 2, notPem.stderr);
      assert.match(notPem.stderr, /^tng: vault_cacert \/etc\/hostname holds no PEM certificate\.$/m);
      await assert.rejects(stat(world.config), { code: 'ENOENT' }, 'nothing was written');
    } finally {
      await world.dispose();
    }
  });

  it('touch = "login" before enrolling is written, with the enrol step named; login then refuses it (exit 2)', async () => {
    const world = await createWorld();
    try {
      const init = await initProfile(world, sandbox, ['--touch', 'login']);
      assert.match(init.stderr, new RegExp(`touch = "login" needs an enrolled security key: run \`tng enroll --profile ${world.profile}\``));
      const login = await world.run(['login', '--profile', world.profile]);
      assert.equal(login.code, 2, login.stderr);
      assert.match(login.stderr, /has no enrolled security key/);
      const plain = await world.run(['init', '--profile', world.profile, '--touch', 'never']);
      assert.equal(plain.code, 0, plain.stderr);
      assert.doesNotMatch(plain.stderr, /enroll/);
    } finally {
      await world.dispose();
    }
  });

  it('an update keeps the comments and layout of a hand-edited config', async () => {
    const world = await createWorld();
    try {
      await initProfile(world, sandbox);
      const written = await readFile(world.config, 'utf8');
      const annotated = `# my profiles, kept in dotfiles\n${written.replace(`[profiles.${world.profile}]`, `# the sandbox\n[profiles.${world.profile}]`).replace(/^(vault_role = .*)$/m, '$1 # ask the platform team')}`;
      await writeFile(world.config, annotated);
      const update = await world.run(['init', '--profile', world.profile, '--aws-region', 'eu-west-1', '--vault-role', 'admin']);
      assert.equal(update.code, 0, update.stderr);
      const after = await readFile(world.config, 'utf8');
      assert.equal(after, annotated.replace(/^vault_role = .*$/m, 'vault_role = "admin" # ask the platform team\naws_region = "eu-west-1"'));
      assert.equal((await stat(world.config)).mode & 0o777, 0o600);
    } finally {
      await world.dispose();
    }
  });

  it('updates a config kept as a symlink where it points, leaving the link in place', async () => {
    const world = await createWorld();
    try {
      await initProfile(world, sandbox);
      const kept = join(world.home, 'dotfiles', 'tng.toml');
      await mkdir(dirname(kept), { recursive: true });
      await rename(world.config, kept);
      await symlink(kept, world.config);
      const update = await world.run(['init', '--profile', world.profile, '--aws-region', 'eu-west-1']);
      assert.equal(update.code, 0, update.stderr);
      assert.ok((await lstat(world.config)).isSymbolicLink(), 'the link was replaced by a plain file');
      assert.equal((parse(await readFile(kept, 'utf8')) as { profiles: Record<string, { aws_region?: string }> }).profiles[world.profile]?.aws_region, 'eu-west-1');
    } finally {
      await world.dispose();
    }
  });

  it('keeps a relative --vault-cacert as an absolute path, so it names the same file from any directory', async () => {
    const world = await createWorld();
    const pki = await createTestPki({ names: ['localhost'] });
    try {
      await copyFile(pki.caPath, join(world.home, 'ca.pem'));
      const script = 'cd "$HOME" && exec "$0" init --profile "$1" --issuer "$2" --client-id tng --vault-addr "$3" --vault-role r --vault-cacert ca.pem';
      const result = await runProcess('bash', ['-c', script, TNG, world.profile, sandbox.issuer, sandbox.vaultAddr], world.env);
      assert.equal(result.code, 0, result.stderr);
      const written = parse(await readFile(world.config, 'utf8')) as { profiles: Record<string, { vault_cacert?: string }> };
      assert.equal(written.profiles[world.profile]?.vault_cacert, join(world.home, 'ca.pem'));
    } finally {
      await pki.remove();
      await world.dispose();
    }
  });

  it('a config file that cannot be written is exit 2 naming it, not an internal error', async () => {
    const world = await createWorld();
    try {
      const config = '/proc/tng-config/config.toml';
      const result = await world.run(['init', '--profile', world.profile, '--issuer', sandbox.issuer, '--client-id', 'tng', '--vault-addr', sandbox.vaultAddr, '--vault-role', 'r'], { env: { TNG_CONFIG: config } });
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /^tng: Cannot write the config file \/proc\/tng-config\/config\.toml \(\w+\)\.$/m);
      assert.match(result.stderr, /^hint: Make its directory writable, or point TNG_CONFIG/m);
    } finally {
      await world.dispose();
    }
  });

  it('an invalid config file is exit 2 with the file named', async () => {
    const world = await createWorld();
    try {
      await initProfile(world, sandbox);
      await writeFile(world.config, 'default_profile = [broken\n');
      const result = await world.run(['whoami']);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /not valid TOML \(line 1, column \d+\): /);
      await writeFile(world.config, `[profiles.${world.profile}]\nissuer = "${sandbox.issuer}"\nbogus_key = 1\n`);
      const unknownKey = await world.run(['whoami']);
      assert.equal(unknownKey.code, 2);
      assert.match(unknownKey.stderr, /bogus_key is not a known key/);
    } finally {
      await world.dispose();
    }
  });

  it('--client-secret-stdin keeps the secret in the keychain, never in the config', async () => {
    const world = await createWorld();
    try {
      await initProfile(world, sandbox);
      const secret = 'sandbox-client-secret-0123456789';
      const result = await world.run(['init', '--profile', world.profile, '--client-secret-stdin'], { input: `${secret}\n` });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /client secret kept in the keychain/);
      assert.doesNotMatch(await readFile(world.config, 'utf8'), /sandbox-client-secret/);
      const { createOsKeychain } = await import('../../src/keychain/os.ts');
      const stored = await createOsKeychain().get(`profile:${world.profile}:keys`);
      assert.deepEqual(JSON.parse(stored ?? '{}'), { clientSecret: secret, dataKeys: {} });

      const both = await world.run(['init', '--profile', world.profile, '--client-secret-stdin', '--no-client-secret'], { input: secret });
      assert.equal(both.code, 2, both.stderr);
      const forgotten = await world.run(['init', '--profile', world.profile, '--no-client-secret']);
      assert.equal(forgotten.code, 0, forgotten.stderr);
      assert.match(forgotten.stderr, /no client secret kept/);
      assert.equal(await createOsKeychain().get(`profile:${world.profile}:keys`), undefined, 'nothing else was in the item, so it is gone');
    } finally {
      await world.dispose();
    }
  });

  it('--client-secret-stdin at a terminal asks for the secret without echoing it', async () => {
    const world = await createWorld();
    try {
      await initProfile(world, sandbox);
      const secret = 'typed-client-secret-4711';
      const running = world.start(['init', '--profile', world.profile, '--client-secret-stdin'], { tty: true });
      await running.waitFor(/Client secret \(not shown\): /);
      running.child.stdin.end(`${secret}\r`);
      const result = await running.exited;
      assert.equal(result.code, 0, result.stdout);
      assert.match(result.stdout, /client secret kept in the keychain/);
      assert.ok(!result.stdout.includes(secret), `the secret was echoed: ${result.stdout}`);
      const { createOsKeychain } = await import('../../src/keychain/os.ts');
      assert.equal(JSON.parse((await createOsKeychain().get(`profile:${world.profile}:keys`)) ?? '{}').clientSecret, secret);
    } finally {
      await world.dispose();
    }
  });

  it('login --no-browser prints the URL and opens nothing', async () => {
    const world = await createWorld();
    try {
      await initProfile(world, sandbox);
      const running = world.start(['login', '--profile', world.profile, '--no-browser'], { tty: true });
      const printed = await running.waitFor(/http:\/\/127\.0\.0\.1:\d+\/dex\/auth\?\S+/);
      // Act as the person: open the printed URL with the browser helper, logging elsewhere.
      const manual = await runProcess(process.execPath, [BROWSER_HELPER, printed[0]], { ...world.env, SANDBOX_BROWSER_LOG: `${world.home}/manual.log` });
      assert.equal(manual.code, 0);
      const result = await running.exited;
      assert.equal(result.code, 0, result.stdout);
      assert.match(result.stdout, /Open this URL in a browser/);
      assert.deepEqual(await world.browserRuns(), [], 'tng must not start $BROWSER with --no-browser');
    } finally {
      await world.dispose();
    }
  });
});
