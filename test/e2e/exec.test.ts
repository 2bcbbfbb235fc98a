import assert from 'node:assert/strict';
import { readdir, readFile, stat, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEPLOY_ROLE_ARN, startSandbox, type Sandbox } from '../sandbox/index.ts';
import { sleep, storedItem } from './fault-helpers.ts';
import { TNG, createWorld, initProfile, login, runProcess, type World } from './harness.ts';

const AWS_CLI = '/usr/bin/aws';
let sandbox: Sandbox;
let world: World;
/** Every secret the sandbox handed to tng during this file, for the hygiene checks at the end. */
const secrets = new Set<string>();

before(async () => {
  sandbox = await startSandbox();
  world = await createWorld();
  await initProfile(world, sandbox, ['--aws-role', 'deploy', '--aws-region', 'eu-west-1']);
  const result = await login(world);
  assert.equal(result.code, 0, result.stdout);
  world.env.AWS_ENDPOINT_URL_STS = sandbox.stsUrl;
  world.env.AWS_EC2_METADATA_DISABLED = 'true';
});
after(async () => {
  await world.dispose();
  await sandbox.close();
});

/** A world of its own with a profile (these flags) and a session. */
async function loggedInWorld(flags: string[]): Promise<World> {
  const other = await createWorld();
  await initProfile(other, sandbox, flags);
  const first = await login(other);
  assert.equal(first.code, 0, first.stdout);
  return other;
}

/** Node as the child, printing what it was given. */
const PRINT_ENV = [process.execPath, '-e', 'process.stdout.write(JSON.stringify(process.env))'];

async function childEnv(args: string[] = [], env: Record<string, string | undefined> = {}): Promise<NodeJS.ProcessEnv> {
  const result = await world.run(['exec', '--profile', world.profile, ...args, '--', ...PRINT_ENV], { env });
  assert.equal(result.code, 0, result.stderr);
  const childEnvironment = JSON.parse(result.stdout) as NodeJS.ProcessEnv;
  for (const name of ['VAULT_TOKEN', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_CONTAINER_AUTHORIZATION_TOKEN']) {
    const value = childEnvironment[name];
    if (value) secrets.add(value);
  }
  return childEnvironment;
}

describe('tng exec: the child environment', () => {
  it('gets Vault, the credentials endpoint, the region and tng ids; inherited AWS settings are removed', async () => {
    const env = await childEnv([], { AWS_PROFILE: 'prod', AWS_ACCESS_KEY_ID: 'AKIAINHERITED', AWS_SECRET_ACCESS_KEY: 'inherited', AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/creds' });
    assert.equal(env.AWS_PROFILE, undefined);
    assert.equal(env.AWS_ACCESS_KEY_ID, undefined);
    assert.equal(env.AWS_SECRET_ACCESS_KEY, undefined);
    assert.equal(env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, undefined);
    assert.match(env.AWS_CONTAINER_CREDENTIALS_FULL_URI ?? '', /^http:\/\/127\.0\.0\.1:\d+\//);
    assert.ok((env.AWS_CONTAINER_AUTHORIZATION_TOKEN ?? '').length >= 32);
    assert.equal(env.AWS_REGION, 'eu-west-1');
    assert.equal(env.AWS_DEFAULT_REGION, 'eu-west-1');
    assert.equal(env.VAULT_ADDR, sandbox.vaultAddr);
    assert.match(env.VAULT_TOKEN ?? '', /^hvs\./);
    assert.equal(env.TNG_PROFILE, world.profile);
    assert.match(env.TNG_AUDIT_ID ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(env.HOME, world.home);
  });

  it('--no-server hands static keys; --no-aws and --no-vault leave those out', async () => {
    const keys = await childEnv(['--no-server']);
    assert.match(keys.AWS_ACCESS_KEY_ID ?? '', /^ASIA/);
    assert.ok(keys.AWS_SECRET_ACCESS_KEY && keys.AWS_SESSION_TOKEN);
    assert.equal(keys.AWS_CONTAINER_CREDENTIALS_FULL_URI, undefined);
    const none = await childEnv(['--no-aws', '--no-vault'], { AWS_PROFILE: 'kept' });
    assert.equal(none.AWS_CONTAINER_CREDENTIALS_FULL_URI, undefined);
    assert.equal(none.AWS_PROFILE, 'kept', 'without tng\'s AWS credentials nothing is removed');
    assert.equal(none.VAULT_TOKEN, undefined);
  });

  it('passes stdin through and returns the child\'s status (0, 7, 143 for SIGTERM)', async () => {
    const echo = await world.run(['exec', '--profile', world.profile, '--', 'cat'], { input: 'hello through tng\n' });
    assert.equal(echo.code, 0);
    assert.equal(echo.stdout, 'hello through tng\n');
    assert.equal((await world.run(['exec', '--profile', world.profile, '--', 'sh', '-c', 'exit 7'])).code, 7);
    assert.equal((await world.run(['exec', '--profile', world.profile, '--', 'sh', '-c', 'kill -TERM $$'])).code, 143);
    assert.equal((await world.run(['exec', '--profile', world.profile, '--', 'true'])).code, 0);
  });

  it('forwards SIGTERM, and SIGINT exactly once when there is no TTY', async () => {
    const trap = (signal: string) =>
      `let n = 0; process.on('${signal}', () => { n++; setTimeout(() => process.exit(40 + n), 300); }); process.stdout.write('ready\\n'); setInterval(() => {}, 1000);`;
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const running = world.start(['exec', '--profile', world.profile, '--', process.execPath, '-e', trap(signal)]);
      await running.waitFor(/ready/);
      running.child.kill(signal);
      const result = await running.exited;
      assert.equal(result.code, 41, `${signal}: the child saw it once and its status came back (${result.stderr})`);
    }
  });

  it('AWS flags where no AWS credentials are handed out are a usage error, not silently ignored', async () => {
    const withNoAws = await world.run(['exec', '--profile', world.profile, '--no-aws', '--ttl', '1h', '--', 'true']);
    assert.equal(withNoAws.code, 2, withNoAws.stderr);
    assert.match(withNoAws.stderr, /^tng: --ttl and --no-aws do not go together\.$/m);
    const other = await createWorld();
    try {
      await initProfile(other, sandbox);
      const noRole = await other.run(['exec', '--profile', other.profile, '--role-arn', DEPLOY_ROLE_ARN, '--', 'true']);
      assert.equal(noRole.code, 2, noRole.stderr);
      assert.match(noRole.stderr, /^tng: --role-arn given, but profile "\S+" has no aws_role/m);
      assert.match(noRole.stderr, /^hint: Pass --role ROLE/m);
    } finally {
      await other.dispose();
    }
  });

  it('a missing command is tng\'s usage error', async () => {
    const result = await world.run(['exec', '--profile', world.profile, '--', 'no-such-command-anywhere']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /command not found/);
    const notExecutable = await world.run(['exec', '--profile', world.profile, '--', world.config]);
    assert.equal(notExecutable.code, 2);
    assert.equal(notExecutable.stderr, `tng: Cannot run ${world.config}: permission denied (not an executable file).\nhint: Check that the command is executable.\n`);
  });

  it('refuses to nest (exit 2) and says to use the parent\'s credentials', async () => {
    const result = await world.run(['exec', '--profile', world.profile, '--', TNG, 'exec', '--', 'true']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /Already inside `tng exec`/);
    assert.match(result.stderr, /parent's credentials/);
  });

  it('without a session and without a TTY: exit 3, no browser', async () => {
    const other = await createWorld();
    try {
      await initProfile(other, sandbox, ['--aws-role', 'deploy']);
      const result = await other.run(['exec', '--profile', other.profile, '--', 'true']);
      assert.equal(result.code, 3);
      assert.match(result.stderr, /tng login/);
      assert.deepEqual(await other.browserRuns(), []);
    } finally {
      await other.dispose();
    }
  });

  it('with a TTY and no session it logs in first, then runs the command', async () => {
    const other = await createWorld();
    try {
      await initProfile(other, sandbox);
      const result = await other.run(['exec', '--profile', other.profile, '--', 'sh', '-c', 'echo "child ran with $TNG_PROFILE"'], { tty: true });
      assert.equal(result.code, 0, result.stdout);
      assert.match(result.stdout, /Not logged in yet: logging in first/);
      assert.match(result.stdout, new RegExp(`child ran with ${other.profile}`));
    } finally {
      await other.dispose();
    }
  });
});

describe('tng exec with the real AWS CLI', () => {
  it('the AWS CLI signs get-caller-identity with credentials from the endpoint, and STS accepts it', async () => {
    const result = await world.run(['exec', '--profile', world.profile, '--', AWS_CLI, 'sts', 'get-caller-identity', '--endpoint-url', sandbox.stsUrl, '--output', 'json']);
    assert.equal(result.code, 0, result.stderr);
    const identity = JSON.parse(result.stdout) as { Arn: string; Account: string };
    assert.match(identity.Arn, /^arn:aws:sts::123456789012:assumed-role\/deploy\/tng-[0-9a-f-]{36}$/);
    assert.equal(identity.Account, '123456789012');
  });

  it('and with static keys (--no-server)', async () => {
    const result = await world.run(['exec', '--profile', world.profile, '--no-server', '--', AWS_CLI, 'sts', 'get-caller-identity', '--endpoint-url', sandbox.stsUrl, '--output', 'json']);
    assert.equal(result.code, 0, result.stderr);
    assert.match((JSON.parse(result.stdout) as { Arn: string }).Arn, /assumed-role\/deploy\//);
  });

  it('credential-process prints exactly the Version 1 JSON and works as credential_process', async () => {
    const result = await world.run(['credential-process', '--profile', world.profile]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    const output = JSON.parse(result.stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(output), ['Version', 'AccessKeyId', 'SecretAccessKey', 'SessionToken', 'Expiration']);
    assert.equal(output.Version, 1);
    assert.ok(Date.parse(output.Expiration as string) > Date.now() + 5 * 60_000);
    secrets.add(output.SecretAccessKey as string).add(output.SessionToken as string);

    await mkdir(join(world.home, '.aws'), { recursive: true });
    await writeFile(join(world.home, '.aws', 'config'), `[profile via-tng]\ncredential_process = ${TNG} credential-process --profile ${world.profile}\nregion = us-east-1\n`);
    const cli = await runProcess(AWS_CLI, ['sts', 'get-caller-identity', '--profile', 'via-tng', '--endpoint-url', sandbox.stsUrl, '--output', 'json'], world.env);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match((JSON.parse(cli.stdout) as { Arn: string }).Arn, /assumed-role\/deploy\//);
  });

  it('credential-process without a session: exit 3 and nothing on stdout', async () => {
    const other = await createWorld();
    try {
      await initProfile(other, sandbox, ['--aws-role', 'deploy']);
      const result = await other.run(['credential-process', '--profile', other.profile]);
      assert.equal(result.code, 3);
      assert.equal(result.stdout, '');
      assert.deepEqual(await other.browserRuns(), []);
    } finally {
      await other.dispose();
    }
  });

  it('IAM-user keys (aws_credential_type = "creds") go into the environment, and tng says so', async () => {
    const other = await loggedInWorld(['--aws-role', 'legacy-user', '--aws-credential-type', 'creds']);
    try {
      const result = await other.run(['exec', '--profile', other.profile, '--', AWS_CLI, 'sts', 'get-caller-identity', '--endpoint-url', sandbox.stsUrl, '--region', 'us-east-1', '--output', 'json'], { env: { AWS_EC2_METADATA_DISABLED: 'true' } });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /IAM-user keys have no session token.*--no-server/);
      assert.match((JSON.parse(result.stdout) as { Arn: string }).Arn, /^arn:aws:iam::123456789012:user\//);
    } finally {
      await other.dispose();
    }
  });
});

describe('AWS credential issuance', () => {
  it('20 parallel execs with an empty cache share one issuance at Vault', async () => {
    const other = await loggedInWorld(['--aws-role', 'deploy']);
    try {
      const before = sandbox.vault.awsCredentials.issuanceCount('deploy');
      const results = await Promise.all(Array.from({ length: 20 }, () => other.run(['exec', '--profile', other.profile, '--', 'true'], { timeoutMs: 60_000 })));
      assert.deepEqual(results.map((r) => r.code), Array(20).fill(0), results.map((r) => r.stderr).join('\n'));
      assert.equal(sandbox.vault.awsCredentials.issuanceCount('deploy') - before, 1);
    } finally {
      await other.dispose();
    }
  });

  // The sandbox's Vault tokens live 15 minutes, as long as the credentials: every issuance renews first.
  const vaultExpiry = async (other: World) => {
    const stored = JSON.parse((await storedItem(other, 'session')) ?? 'null') as { vault: { expiresAt: number } } | null;
    assert.ok(stored !== null, 'a stored session');
    return stored.vault.expiresAt;
  };
  const renewals = () => sandbox.vault.count('POST', '/v1/auth/token/renew-self') + sandbox.vault.count('PUT', '/v1/auth/token/renew-self');
  /** A world whose login is over a second old, so that a renewal shows in the stored expiry. */
  const loggedInASecondAgo = async () => {
    const other = await loggedInWorld(['--aws-role', 'deploy']);
    const loggedInUntil = await vaultExpiry(other);
    await sleep(1_100);
    return { other, loggedInUntil, renewalsBefore: renewals() };
  };

  it('renews a Vault token that would end before the credentials, and stores the renewal with them in one keychain write', async () => {
    const { other, loggedInUntil, renewalsBefore } = await loggedInASecondAgo();
    try {
      const result = await other.run(['exec', '--profile', other.profile, '--', 'true'], { env: { TNG_DEBUG: '1' } });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(renewals() - renewalsBefore, 1);
      const writes = result.stderr.split('\n').filter((line) => /^tng: \[timing\] keychain write \(session\)/.test(line));
      assert.equal(writes.length, 1, result.stderr);
      assert.ok((await vaultExpiry(other)) > loggedInUntil, 'the stored session has the renewed expiry');
      const cached = await other.run(['exec', '--profile', other.profile, '--', 'true']);
      assert.equal(cached.code, 0, cached.stderr);
      assert.equal(renewals() - renewalsBefore, 1, 'cached credentials need no renewal');
    } finally {
      await other.dispose();
    }
  });

  it('a renewal is kept when the issuance after it fails', async () => {
    const { other, loggedInUntil, renewalsBefore } = await loggedInASecondAgo();
    try {
      sandbox.vault.fault({ path: 'aws/sts/deploy', status: 500, body: { errors: ['internal error'] }, times: 1 });
      const result = await other.run(['exec', '--profile', other.profile, '--', 'true']);
      assert.equal(result.code, 6, result.stderr);
      assert.equal(renewals() - renewalsBefore, 1);
      assert.ok((await vaultExpiry(other)) > loggedInUntil, 'the stored session has the renewed expiry');
    } finally {
      sandbox.vault.clearFaults();
      await other.dispose();
    }
  });

  it('names the audit entry in the STS session name, with the requested TTL and role ARN', async () => {
    const other = await loggedInWorld(['--aws-role', 'multi', '--aws-role-arn', DEPLOY_ROLE_ARN]);
    try {
      const env = await (async () => {
        const result = await other.run(['exec', '--profile', other.profile, '--ttl', '30m', '--', ...PRINT_ENV]);
        assert.equal(result.code, 0, result.stderr);
        return JSON.parse(result.stdout) as NodeJS.ProcessEnv;
      })();
      const issued = sandbox.vault.awsCredentials.issued().at(-1);
      assert.equal(issued?.role, 'multi');
      assert.equal(issued?.sessionName, `tng-${env.TNG_AUDIT_ID}`);
      assert.ok(Math.abs((issued?.expiresAt ?? 0) - Date.now() - 30 * 60_000) < 60_000);
      const audit = (await readFile(join(other.state, 'audit.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      const entry = audit.find((e) => e.id === env.TNG_AUDIT_ID);
      assert.equal(entry?.event, 'exec');
      assert.equal(entry?.program, 'node');
      assert.match(String(entry?.argv_sha256), /^[0-9a-f]{64}$/);
      assert.equal(entry?.aws_access_key_id, issued?.accessKeyId);
    } finally {
      await other.dispose();
    }
  });

  it('a TTL Vault refuses is exit 2 with Vault\'s reason', async () => {
    const result = await world.run(['exec', '--profile', world.profile, '--role', 'multi', '--role-arn', DEPLOY_ROLE_ARN, '--ttl', '2h', '--', 'true']);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /Vault refused a 7200s lifetime/);
    assert.match(result.stderr, /MaxSessionDuration/);
    assert.equal((await world.run(['exec', '--profile', world.profile, '--ttl', 'soon', '--', 'true'])).code, 2);
    const short = await world.run(['exec', '--profile', world.profile, '--ttl', '10s', '--', 'true']);
    assert.equal(short.code, 2, short.stderr);
    assert.match(short.stderr, /Vault refused a 10s lifetime/);
    assert.match(short.stderr, /hint: Ask for a longer --ttl/);
  });

  it('a session Vault no longer accepts (revoked before its TTL): with a TTY, exec logs in again and runs; without one, exit 3', async () => {
    const other = await loggedInWorld(['--aws-role', 'deploy']);
    try {
      const revoke = async () => {
        const token = (await other.run(['token-helper', 'get'], { env: { VAULT_ADDR: sandbox.vaultAddr } })).stdout;
        const response = await fetch(`${sandbox.vaultAddr}/v1/auth/token/revoke-self`, { method: 'POST', headers: { 'X-Vault-Token': token } });
        assert.equal(response.status, 204);
        return token;
      };
      const revoked = await revoke();
      const headless = await other.run(['exec', '--profile', other.profile, '--', 'true']);
      assert.equal(headless.code, 3, headless.stderr);
      assert.match(headless.stderr, /^tng: Vault no longer accepts the session token/m);

      const onTerminal = await other.run(['exec', '--profile', other.profile, '--', 'sh', '-c', 'echo "token=$VAULT_TOKEN"'], { tty: true });
      assert.equal(onTerminal.code, 0, onTerminal.stdout);
      assert.match(onTerminal.stdout, /Vault no longer accepts the session token: logging in again\./);
      const token = /token=(\S+)/.exec(onTerminal.stdout)?.[1];
      assert.ok(token && token !== revoked, 'the child got the new session\'s token');
      const whoami = await other.run(['whoami', '--profile', other.profile, '--no-verify']);
      assert.equal(whoami.code, 0, whoami.stderr);
    } finally {
      await other.dispose();
    }
  });

  it('after vault_addr changes, the old session is not used: exit 3 naming both without a TTY, a login at the new Vault with one', async () => {
    const other = await loggedInWorld(['--aws-role', 'deploy']);
    try {
      // The same sandbox Vault under another name: a different vault_addr as far as the profile goes.
      const renamed = sandbox.vaultAddr.replace('127.0.0.1', 'localhost');
      assert.equal((await other.run(['init', '--profile', other.profile, '--vault-addr', renamed])).code, 0);
      for (const command of [['exec', '--profile', other.profile, '--', 'true'], ['credential-process', '--profile', other.profile]]) {
        const refused = await other.run(command);
        assert.equal(refused.code, 3, refused.stderr);
        assert.ok(refused.stderr.includes(`is for Vault at ${sandbox.vaultAddr}, but the profile now names ${renamed}.`), refused.stderr);
        assert.equal(refused.stdout, '');
      }
      const onTerminal = await other.run(['exec', '--profile', other.profile, '--', 'sh', '-c', 'echo "addr=$VAULT_ADDR"'], { tty: true });
      assert.equal(onTerminal.code, 0, onTerminal.stdout);
      assert.match(onTerminal.stdout, /The profile now names another Vault: logging in there\./);
      assert.ok(onTerminal.stdout.includes(`addr=${renamed}`), onTerminal.stdout);
      assert.equal((await other.run(['exec', '--profile', other.profile, '--', 'true'])).code, 0);
    } finally {
      await other.dispose();
    }
  });

  it('a cached credential serves only requests for its own lifetime: --ttl 1h never gets the cached 15-minute one', async () => {
    const keys = async (ttl: string[]) => {
      const env = await childEnv(['--no-server', ...ttl]);
      return { id: env.AWS_ACCESS_KEY_ID, left: Date.parse(env.AWS_CREDENTIAL_EXPIRATION ?? '') - Date.now() };
    };
    const standard = await keys([]);
    const long = await keys(['--ttl', '1h']);
    assert.notEqual(long.id, standard.id);
    assert.ok(long.left > 55 * 60_000, `the 1h credential has ${long.left} ms left`);
    assert.equal((await keys(['--ttl', '60m'])).id, long.id, 'the same lifetime reuses the cached 1h credential');
    assert.equal((await keys(['--ttl', '15m'])).id, standard.id, 'aws_ttl (15m) is still cached');
    assert.equal((await keys([])).id, standard.id);
  });

  it('the endpoint serves fresh credentials across an expiry, read by the AWS SDK for JavaScript', async () => {
    const script = `
      import { fromHttp } from '@aws-sdk/credential-providers';
      import { STSClient, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
      const first = await fromHttp({})();
      await new Promise((r) => setTimeout(r, 5000));
      const second = await fromHttp({})();
      const call = async (credentials) => {
        try {
          return (await new STSClient({ region: 'us-east-1', endpoint: process.env.AWS_ENDPOINT_URL_STS, credentials, maxAttempts: 1 }).send(new GetCallerIdentityCommand({}))).Arn;
        } catch (error) { return error.name; }
      };
      process.stdout.write(JSON.stringify({ first: first.accessKeyId, second: second.accessKeyId, firstNow: await call(first), secondNow: await call(second) }));
    `;
    const result = await world.run(['exec', '--profile', world.profile, '--role', 'short-lived', '--', process.execPath, '--input-type=module', '-e', script], { timeoutMs: 60_000 });
    assert.equal(result.code, 0, result.stderr);
    const outcome = JSON.parse(result.stdout) as Record<string, string>;
    assert.notEqual(outcome.first, outcome.second);
    assert.equal(outcome.firstNow, 'ExpiredToken');
    assert.match(outcome.secondNow ?? '', /assumed-role\/deploy\//);
  });

  it('whoami shows the AWS identity from STS GetCallerIdentity', async () => {
    await childEnv();
    const result = await world.run(['whoami', '--json', '--profile', world.profile]);
    assert.equal(result.code, 0, result.stderr);
    const aws = (JSON.parse(result.stdout) as { aws: Record<string, string> }).aws;
    assert.match(aws.arn ?? '', /^arn:aws:sts::123456789012:assumed-role\/deploy\/tng-/);
    assert.equal(aws.account, '123456789012');
    assert.match(aws.user_id ?? '', /^AROA[A-Z0-9]+:tng-/);
    assert.match(aws.access_key_id ?? '', /^ASIA/);
    assert.ok(Date.parse(aws.expires_at ?? '') > Date.now());
    assert.ok(sandbox.sts.requests().some((r) => r.action === 'GetCallerIdentity' && r.accessKeyId === aws.access_key_id && r.status === 200));

    // --no-verify asks STS nothing: what tng knows from Vault, and null for the user id only STS knows.
    const calls = sandbox.sts.requests().length;
    const offline = await world.run(['whoami', '--json', '--no-verify', '--profile', world.profile]);
    assert.equal(offline.code, 0, offline.stderr);
    const known = (JSON.parse(offline.stdout) as { aws: Record<string, string | null> }).aws;
    assert.deepEqual(known, { ...aws, user_id: null });
    assert.equal(sandbox.sts.requests().length, calls);
  });
});

describe('tng token-helper for the Vault CLI', () => {
  it('store/get/erase its own item; get falls back to the profile session; logout removes both', async () => {
    const env = { VAULT_ADDR: sandbox.vaultAddr };
    const sessionToken = (await childEnv()).VAULT_TOKEN as string;
    const initial = await world.run(['token-helper', 'get'], { env });
    assert.equal(initial.code, 0);
    assert.equal(initial.stdout, sessionToken, 'no stored token: the session token of the matching profile, no newline');
    assert.equal((await world.run(['token-helper', 'store'], { env, input: 'hvs.stored-by-the-vault-cli' })).code, 0);
    assert.equal((await world.run(['token-helper', 'get'], { env })).stdout, 'hvs.stored-by-the-vault-cli');
    assert.equal((await world.run(['token-helper', 'get'], { env: { VAULT_ADDR: 'https://other.example.com' } })).stdout, '');
    assert.equal((await world.run(['token-helper', 'erase'], { env })).code, 0);
    assert.equal((await world.run(['token-helper', 'get'], { env })).stdout, sessionToken);
    assert.equal((await world.run(['token-helper', 'bogus'])).code, 2);
    // A named profile must exist, as for every command; the stored token is not handed out past the typo.
    for (const named of [{ args: ['--profile', 'no-such-profile'], env }, { args: [], env: { ...env, TNG_PROFILE: 'no-such-profile' } }]) {
      const typo = await world.run(['token-helper', 'get', ...named.args], { env: named.env });
      assert.equal(typo.code, 2, typo.stderr);
      assert.equal(typo.stdout, '');
      assert.match(typo.stderr, /Unknown profile "no-such-profile"/);
    }
    assert.equal((await world.run(['token-helper', 'get', '--profile', world.profile], { env })).stdout, sessionToken);
    // The executable the Vault CLI runs as `<path> get`.
    const viaWrapper = await runProcess(join(dirname(TNG), 'tng-token-helper'), ['get'], { ...world.env, ...env });
    assert.equal(viaWrapper.code, 0, viaWrapper.stderr);
    assert.equal(viaWrapper.stdout, sessionToken);
  });
});

describe('secret hygiene', () => {
  it('the child\'s argv, tng\'s argv and every file tng wrote hold no secret', async () => {
    const script = `const fs = require('fs'); const read = (p) => { try { return fs.readFileSync(p, 'utf8'); } catch { return ''; } }; process.stdout.write(JSON.stringify({ self: read('/proc/self/cmdline'), parent: read('/proc/' + process.ppid + '/cmdline') }));`;
    const result = await world.run(['exec', '--profile', world.profile, '--no-server', '--', process.execPath, '-e', script]);
    assert.equal(result.code, 0, result.stderr);
    const cmdlines = result.stdout;
    await childEnv(['--no-server']);
    assert.ok(secrets.size >= 4, `collected ${secrets.size} secrets`);
    const files: string[] = [];
    const walk = async (dir: string) => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await walk(path);
        else if (entry.isFile()) files.push(path);
      }
    };
    await walk(world.home);
    assert.ok(files.some((f) => f.endsWith('audit.jsonl')));
    for (const secret of secrets) {
      assert.ok(!cmdlines.includes(secret), 'a secret is on a command line');
      for (const file of files) {
        if ((await stat(file)).size > 10_000_000) continue;
        assert.ok(!(await readFile(file, 'utf8')).includes(secret), `a secret is in ${file.replace(world.home, '~')}`);
      }
    }
  });
});
