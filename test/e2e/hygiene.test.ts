/**
 * Secret hygiene (issue 10): after representative flows — a confidential client's secret given on stdin,
 * browser and refresh logins, exec with the credentials endpoint and with static keys, credential-process,
 * the token helper, doctor, the audit trail and its export, failures, TNG_DEBUG=1 throughout, and a
 * PIN-protected key sealing the secrets file (TNG_KEYCHAIN=file) — not one secret the sandbox issued (Vault
 * tokens, refresh / ID / access tokens, authorization codes, AWS secret keys and session tokens, client
 * secrets, the PIN, hmac-secret outputs) nor tng's own endpoint token is in any file under HOME (config,
 * state, temp files), in any output that is not documented to carry one, or on any command line seen in
 * /proc while the flows ran. Every other end-to-end test gets the file and output part of this check when
 * its world is disposed (harness.ts).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startVirtualAuthenticator, type VirtualAuthenticator } from '../sandbox/authenticator/index.ts';
import { ENGINEER_ROLE, freePort, startSandbox, type Sandbox } from '../sandbox/index.ts';
import { issuedSecrets, recordSecret, type IssuedSecret } from '../sandbox/secrets.ts';
import { findLeaks, describeLeaks } from './hygiene.ts';
import { createWorld, initProfile, type RunResult, type Running, type World } from './harness.ts';

const CONFIDENTIAL = 'tng-confidential';
const CLIENT_SECRET = `cs-${randomBytes(18).toString('base64url')}`;
const PIN = `pin-${randomBytes(6).toString('hex')}`;

let sandbox: Sandbox;
let key: VirtualAuthenticator;
let scratch: string;
let redirectPort: number;
const worlds: World[] = [];
const endpointSecrets: IssuedSecret[] = [];
const childCommandLines: string[] = [];

/** Command lines of every process on this machine, sampled from /proc while the flows run. */
const sampled = new Set<string>();
let sampler: NodeJS.Timeout | undefined;
let sampling = true;
function stopSampling(): void {
  sampling = false;
  clearTimeout(sampler);
}
async function sample(): Promise<void> {
  for (const pid of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid)) continue;
    const line = await readFile(`/proc/${pid}/cmdline`, 'latin1').catch(() => '');
    if (line) sampled.add(line);
  }
}

before(async () => {
  redirectPort = await freePort();
  recordSecret('client-secret', CLIENT_SECRET);
  sandbox = await startSandbox({
    oidc: { extraClients: [{ client_id: CONFIDENTIAL, client_secret: CLIENT_SECRET, redirect_uris: [`http://127.0.0.1:${redirectPort}/callback`] }] },
  });
  sandbox.vault.setJwtRole('confidential', { ...ENGINEER_ROLE, bound_audiences: [CONFIDENTIAL] });
  key = await startVirtualAuthenticator({ pin: PIN, touch: { kind: 'auto', delayMs: 20 } });
  scratch = await mkdtemp(join(tmpdir(), 'tng-hygiene-'));
  const tick = () => {
    if (sampling) sampler = setTimeout(() => void sample().finally(tick), 25);
  };
  tick();
});
after(async () => {
  stopSampling();
  for (const world of worlds) await world.dispose().catch(() => undefined);
  await Promise.allSettled([sandbox.close(), key.close(), rm(scratch, { recursive: true, force: true })]);
});

/** A child for `tng exec` that reports its environment and command lines into a file outside HOME, printing nothing. */
function reporter(file: string): string[] {
  const script = "const fs = require('fs'); const r = (p) => { try { return fs.readFileSync(p, 'latin1'); } catch { return ''; } }; fs.writeFileSync(process.argv[1], JSON.stringify({ env: process.env, self: r('/proc/self/cmdline'), parent: r('/proc/' + process.ppid + '/cmdline') }));";
  return [process.execPath, '-e', script, file];
}

/** Reads what a reporter child wrote, and registers tng's own endpoint token as a secret. */
async function childReport(file: string): Promise<NodeJS.ProcessEnv> {
  const report = JSON.parse(await readFile(file, 'utf8')) as { env: NodeJS.ProcessEnv; self: string; parent: string };
  childCommandLines.push(report.self, report.parent);
  const token = report.env.AWS_CONTAINER_AUTHORIZATION_TOKEN;
  if (token) endpointSecrets.push({ kind: 'endpoint-token', value: token });
  return report.env;
}

/** Runs tng on a terminal, typing the PIN whenever it is asked for. */
async function withPin(world: World, args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  const running: Running = world.start([...args, '--profile', world.profile], { tty: true, env, timeoutMs: 60_000 });
  let answered = 0;
  while (running.child.exitCode === null) {
    const asked = (running.output().match(/PIN for [^\n]*: /g) ?? []).length;
    if (asked > answered) {
      running.child.stdin.write(`${PIN}\r`);
      answered = asked;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return running.exited;
}

const ok = (result: RunResult) => assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);

describe('secret hygiene across representative flows', () => {
  it('a confidential client, browser and refresh logins, exec both ways, credential-process, token helper, doctor, audit, failures — with TNG_DEBUG=1', async () => {
    const world = await createWorld();
    worlds.push(world);
    world.env.TMPDIR = join(world.home, 'tmp');
    await (await import('node:fs/promises')).mkdir(world.env.TMPDIR, { recursive: true });
    world.env.AWS_ENDPOINT_URL_STS = sandbox.stsUrl;
    world.env.AWS_EC2_METADATA_DISABLED = 'true';
    const debug = { TNG_DEBUG: '1' };
    await initProfile(world, sandbox, ['--client-id', CONFIDENTIAL, '--vault-role', 'confidential', '--redirect-port', String(redirectPort), '--aws-role', 'deploy']);
    ok(await world.run(['init', '--profile', world.profile, '--client-secret-stdin'], { input: CLIENT_SECRET }));

    ok(await world.run(['login', '--profile', world.profile], { tty: true, env: debug }));
    ok(await world.run(['login', '--profile', world.profile], { env: debug }));
    ok(await world.run(['whoami', '--json', '--profile', world.profile], { env: debug }));

    const endpointFile = join(scratch, 'endpoint.json');
    ok(await world.run(['exec', '--profile', world.profile, '--', ...reporter(endpointFile)], { env: debug }));
    const endpointEnv = await childReport(endpointFile);
    assert.ok(endpointEnv.AWS_CONTAINER_AUTHORIZATION_TOKEN && endpointEnv.VAULT_TOKEN);
    const staticFile = join(scratch, 'static.json');
    ok(await world.run(['exec', '--no-server', '--profile', world.profile, '--', ...reporter(staticFile)], { env: debug }));
    const staticEnv = await childReport(staticFile);
    assert.ok(staticEnv.AWS_SECRET_ACCESS_KEY && staticEnv.AWS_SESSION_TOKEN);

    const processed = await world.run(['credential-process', '--profile', world.profile], { env: debug });
    ok(processed);
    assert.ok((JSON.parse(processed.stdout) as { SecretAccessKey?: string }).SecretAccessKey);
    ok(await world.run(['whoami', '--profile', world.profile], { env: debug }));

    const helperEnv = { VAULT_ADDR: sandbox.vaultAddr, ...debug };
    ok(await world.run(['token-helper', 'store'], { env: helperEnv, input: staticEnv.VAULT_TOKEN as string }));
    ok(await world.run(['token-helper', 'get'], { env: helperEnv }));
    ok(await world.run(['token-helper', 'erase'], { env: helperEnv }));

    await world.run(['doctor', '--profile', world.profile], { env: debug });
    ok(await world.run(['audit', '--profile', world.profile], { env: debug }));
    ok(await world.run(['audit', '--verify'], { env: debug }));
    const exported = await world.run(['audit', 'export'], { env: debug });
    ok(exported);
    await writeFile(join(world.home, 'trail-export.jsonl'), exported.stdout);

    // Failures print Vault's and the issuer's answers: never a token.
    sandbox.vault.fault({ path: 'auth/jwt/login', status: 403, body: { errors: ['permission denied'] }, times: 1 });
    assert.equal((await world.run(['login', '--profile', world.profile], { env: debug })).code, 4);
    sandbox.oidc.fault({ path: '/token', status: 500, times: 1 });
    assert.equal((await world.run(['login', '--profile', world.profile], { env: debug })).code, 6);
    ok(await world.run(['logout', '--profile', world.profile], { env: debug }));
  });

  it('a PIN-protected key sealing the secrets file (TNG_KEYCHAIN=file): enroll, login, exec, whoami, logout', async () => {
    const world = await createWorld();
    worlds.push(world);
    world.env.TNG_FIDO2_DEVICE = key.device;
    world.env.TNG_KEYCHAIN = 'file';
    world.env.AWS_ENDPOINT_URL_STS = sandbox.stsUrl;
    await initProfile(world, sandbox, ['--aws-role', 'deploy']);
    ok(await withPin(world, ['enroll', '--uv', 'required']));
    ok(await withPin(world, ['login'], { TNG_DEBUG: '1' }));
    const file = join(scratch, 'file-keychain.json');
    ok(await withPin(world, ['exec', '--', ...reporter(file)]));
    assert.ok((await childReport(file)).VAULT_TOKEN);
    ok(await withPin(world, ['whoami']));
    const sealed = await readFile(join(world.state, 'keychain.json'), 'utf8');
    assert.match(sealed, /profile:/, 'the secrets file holds the items, sealed');
    ok(await world.run(['logout', '--profile', world.profile]));
  });

  it('zero hits: no secret in any file under HOME, any output not meant to carry one, or any command line', async () => {
    stopSampling();
    await sample();
    const kinds = new Set([...issuedSecrets(), ...endpointSecrets].map((s) => s.kind));
    for (const kind of ['vault-token', 'refresh-token', 'id-token', 'access-token', 'authorization-code', 'aws-secret-key', 'aws-session-token', 'client-secret', 'pin', 'hmac-output', 'endpoint-token']) {
      assert.ok(kinds.has(kind as IssuedSecret['kind']), `the flows never produced a ${kind}, so its absence proves nothing`);
    }
    assert.ok(sampled.size > 10 && childCommandLines.length >= 6, `sampled ${sampled.size} command lines`);
    const leaks = [];
    for (const world of worlds) {
      leaks.push(...(await findLeaks({ home: world.home, runs: world.runs, extra: endpointSecrets })));
    }
    leaks.push(...(await findLeaks({ home: scratch + '/nonexistent', runs: [], commandLines: [...sampled, ...childCommandLines], extra: endpointSecrets })));
    assert.deepEqual(leaks, [], describeLeaks(leaks));
  });

  it('the scan is not blind: a secret planted in a file, in stderr or on a command line is found', async () => {
    const home = await mkdtemp(join(tmpdir(), 'tng-hygiene-canary-'));
    try {
      const secret = { kind: 'refresh-token' as const, value: `canary-${randomBytes(12).toString('hex')}` };
      recordSecret(secret.kind, secret.value);
      await (await import('node:fs/promises')).mkdir(join(home, '.local', 'state', 'tng'), { recursive: true });
      await writeFile(join(home, '.local', 'state', 'tng', 'audit.jsonl'), `{"note":"${secret.value}"}\n`);
      const leaks = await findLeaks({
        home,
        runs: [{ args: ['login'], stdout: '', stderr: `debug: ${secret.value}`, tty: false }, { args: ['exec', '--', 'env'], stdout: secret.value, stderr: '', tty: false }],
        commandLines: [`vault\0login\0${secret.value}`],
      });
      assert.deepEqual(
        leaks.map((l) => l.where),
        ['the file ~/.local/state/tng/audit.jsonl', 'the stderr of tng login', 'command line #1 (vault)'],
        'exec stdout is exempt; everything else must be found',
      );
      assert.doesNotMatch(describeLeaks(leaks), new RegExp(secret.value), 'the report must not print the secret');
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});
