/**
 * `tng lambda verify` through the built binary against the sandbox's Lambda, SQS and SNS endpoints. The
 * deployment is made the way the README describes it: under `tng exec`, after a login signed by the
 * (virtual) security key, the AWS CLI tags the function with the exec's TNG_AUDIT_ID through tng's
 * credentials endpoint. Then the hardened function passes all five checks and the weak ones fail, each
 * failing check named; the audit check also works from an export in another state dir.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startVirtualAuthenticator, type VirtualAuthenticator } from '../sandbox/authenticator/index.ts';
import { startSandbox, type Sandbox } from '../sandbox/index.ts';
import { parse, stringify } from 'smol-toml';
import { createWorld, initProfile, login, type RunResult, type World } from './harness.ts';

const AWS_CLI = '/usr/bin/aws';
const CHECKS = ['code signing', 'VPC', 'DLQ', 'reserved concurrency', 'audit'];
type Entry = Record<string, any>;

let sandbox: Sandbox;
let key: VirtualAuthenticator;
let world: World;
let scratch: string;
/** The exec that tagged the hardened function, and the signed login it ran under. */
let deployExec: Entry;
let signedLogin: Entry;

const arnOf = (name: string) => `arn:aws:lambda:us-east-1:123456789012:function:${name}`;

async function trail(): Promise<Entry[]> {
  return (await readFile(join(world.state, 'audit.jsonl'), 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Entry);
}

/** What `terraform apply` would do under tng exec: tag the function with TNG_AUDIT_ID, here with the AWS CLI. */
function tagUnderExec(functionName: string): Promise<RunResult> {
  const script = `exec "$1" lambda tag-resource --endpoint-url "$2" --region us-east-1 --resource "$3" --tags "tng:audit-id=$TNG_AUDIT_ID"`;
  return world.run(['exec', '--profile', world.profile, '--', '/bin/sh', '-c', script, 'sh', AWS_CLI, sandbox.awsUrl, arnOf(functionName)]);
}

function verify(args: string[], env: Record<string, string | undefined> = {}): Promise<RunResult> {
  return world.run(['lambda', 'verify', '--profile', world.profile, ...args], { env });
}

/** The table rows on stderr: check name → "pass" | "FAIL". */
function table(stderr: string): Record<string, string> {
  const rows: Record<string, string> = {};
  for (const name of CHECKS) {
    const match = new RegExp(`^${name}\\s+(pass|FAIL)\\s+\\S`, 'm').exec(stderr);
    if (match) rows[name] = match[1] as string;
  }
  return rows;
}

before(async () => {
  sandbox = await startSandbox();
  key = await startVirtualAuthenticator({ touch: { kind: 'auto', delayMs: 20 } });
  scratch = await mkdtemp(join(tmpdir(), 'tng-lambda-e2e-'));
  world = await createWorld();
  world.env.TNG_FIDO2_DEVICE = key.device;
  world.env.AWS_ENDPOINT_URL = sandbox.awsUrl;
  world.env.AWS_EC2_METADATA_DISABLED = 'true';
  await initProfile(world, sandbox, ['--aws-role', 'deploy', '--aws-region', 'us-east-1']);
  assert.equal((await login(world)).code, 0, 'a first login, so there is a refresh token to seal');
  const enrolled = await world.run(['enroll', '--profile', world.profile, '--uv', 'discouraged']);
  assert.equal(enrolled.code, 0, enrolled.stderr);
  const touched = await world.run(['login', '--profile', world.profile]);
  assert.equal(touched.code, 0, touched.stderr);
  const deployed = await tagUnderExec(sandbox.functions.hardened);
  assert.equal(deployed.code, 0, deployed.stderr);
  const entries = await trail();
  deployExec = entries.at(-1) as Entry;
  signedLogin = entries.find((e) => e.id === deployExec.login) as Entry;
});

after(async () => {
  await world.dispose();
  await Promise.allSettled([sandbox.close(), key.close()]);
  await rm(scratch, { recursive: true, force: true });
});

describe('tng lambda verify', () => {
  it('the deployment under tng exec tagged the function with an exec entry chained to a touch-signed login', async () => {
    assert.equal(deployExec.event, 'exec');
    assert.equal(deployExec.sig, undefined, 'touch = "login": the exec itself is not signed');
    assert.equal(signedLogin.event, 'login');
    assert.ok(signedLogin.sig, 'the login was signed by the security key');
    assert.equal(sandbox.aws.lambda.tagsOf(sandbox.functions.hardened)['tng:audit-id'], deployExec.id);
  });

  it('passes the hardened function: a table of five passing checks on stderr, nothing on stdout, exit 0', async () => {
    const from = sandbox.aws.requests().length;
    const result = await verify([sandbox.functions.hardened]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, '');
    assert.deepEqual(table(result.stderr), Object.fromEntries(CHECKS.map((c) => [c, 'pass'])));
    assert.match(result.stderr, new RegExp(`Lambda function ${arnOf('tng-fn')}`));
    assert.match(result.stderr, /^code signing\s+pass\s+csc-[a-z0-9]{17} rejects unsigned or untrusted code \(UntrustedArtifactOnDeployment = Enforce\)$/m);
    assert.match(result.stderr, /^DLQ\s+pass\s+SQS queue tng-fn-dlq, encrypted with arn:aws:kms:us-east-1:123456789012:key\//m);
    assert.match(result.stderr, new RegExp(`^audit\\s+pass\\s+exec entry ${deployExec.id.slice(0, 8)}… \\(seq ${deployExec.seq}.*chained to login ${signedLogin.id.slice(0, 8)}… \\(seq ${signedLogin.seq}\\) signed by security key \\S+, enrolled in profile ${world.profile} here; the local audit trail`, 'm'));
    assert.match(result.stderr, /All 5 checks pass\./);
    // Every call was signed with the credentials tng issued for aws_role "deploy"; no KMS call.
    const calls = sandbox.aws.requests().slice(from);
    assert.deepEqual(
      calls.map((c) => `${c.service}:${c.operation}:${c.status}`).sort(),
      ['lambda:GetCodeSigningConfig:200', 'lambda:GetFunctionCodeSigningConfig:200', 'lambda:GetFunctionConcurrency:200', 'lambda:GetFunctionConfiguration:200', 'lambda:ListTags:200', 'sqs:GetQueueAttributes:200', 'sqs:GetQueueUrl:200'],
    );
    for (const c of calls) assert.match(c.callerArn ?? '', /^arn:aws:sts::123456789012:assumed-role\/deploy\/tng-/);
  });

  it('--json prints one object with every check, by ARN too', async () => {
    const result = await verify([arnOf(sandbox.functions.hardened), '--json']);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as { function: string; region: string; checks: Array<{ name: string; ok: boolean; detail: string }>; ok: boolean };
    assert.equal(report.function, arnOf('tng-fn'));
    assert.equal(report.region, 'us-east-1');
    assert.equal(report.ok, true);
    assert.deepEqual(report.checks.map((c) => [c.name, c.ok]), CHECKS.map((c) => [c, true]));
    for (const check of report.checks) assert.match(check.detail, /\S/);
  });

  it('fails the weak function with exit 8, the first error line naming each failing check', async () => {
    const result = await verify([sandbox.functions.weak]);
    assert.equal(result.code, 8, result.stderr);
    assert.deepEqual(table(result.stderr), Object.fromEntries(CHECKS.map((c) => [c, 'FAIL'])));
    assert.match(result.stderr, /^code signing\s+FAIL\s+csc-\S+ only warns about untrusted code \(UntrustedArtifactOnDeployment = Warn, not Enforce\)$/m);
    assert.match(result.stderr, /^VPC\s+FAIL\s+no subnets attached/m);
    assert.match(result.stderr, /^DLQ\s+FAIL\s+dead-letter queue weak-fn-dlq uses the AWS-managed key alias\/aws\/sqs/m);
    assert.match(result.stderr, /^reserved concurrency\s+FAIL\s+not set/m);
    assert.match(result.stderr, /^audit\s+FAIL\s+no tng:audit-id tag/m);
    const errorLines = result.stderr.trimEnd().split('\n').slice(-2);
    assert.equal(errorLines[0], `tng: Lambda function ${arnOf('weak-fn')} fails 5 of 5 checks: code signing, VPC, DLQ, reserved concurrency, audit.`);
    assert.match(errorLines[1] ?? '', /^hint: /);

    const json = await verify([sandbox.functions.weak, '--json']);
    assert.equal(json.code, 8);
    const report = JSON.parse(json.stdout) as { checks: Array<{ name: string; ok: boolean }>; ok: boolean };
    assert.equal(report.ok, false);
    assert.deepEqual(report.checks.map((c) => c.ok), [false, false, false, false, false]);
    assert.match(json.stderr, /^tng: Lambda function .*weak-fn fails 5 of 5 checks: code signing, VPC, DLQ, reserved concurrency, audit\.$/m);
  });

  it('SNS dead-letter topics: a customer-managed key passes, the AWS-managed key (as an alias ARN) fails; a touch-signed exec passes audit', async () => {
    assert.equal((await world.run(['init', '--profile', world.profile, '--touch', 'exec'])).code, 0);
    try {
      const tagged = await tagUnderExec(sandbox.functions.hardenedTopic);
      assert.equal(tagged.code, 0, tagged.stderr);
    } finally {
      assert.equal((await world.run(['init', '--profile', world.profile, '--touch', 'login'])).code, 0);
    }
    const signedExec = (await trail()).at(-1) as Entry;
    assert.ok(signedExec.sig, 'touch = "exec": the exec entry itself is signed');
    const good = await verify([sandbox.functions.hardenedTopic]);
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stderr, /^DLQ\s+pass\s+SNS topic tng-fn-dlq-topic, encrypted with alias\/tng-fn-dlq$/m);
    assert.match(good.stderr, new RegExp(`^audit\\s+pass\\s+exec entry ${signedExec.id.slice(0, 8)}… .*signed by security key`, 'm'));

    const weak = await verify([sandbox.functions.weakTopic]);
    assert.equal(weak.code, 8);
    assert.deepEqual(table(weak.stderr), { 'code signing': 'FAIL', VPC: 'FAIL', DLQ: 'FAIL', 'reserved concurrency': 'pass', audit: 'FAIL' });
    assert.match(weak.stderr, /^code signing\s+FAIL\s+no code signing config/m);
    assert.match(weak.stderr, /^DLQ\s+FAIL\s+dead-letter topic weak-fn-dlq-topic uses the AWS-managed key arn:aws:kms:us-east-1:123456789012:alias\/aws\/sns/m);
    assert.match(weak.stderr, /^reserved concurrency\s+pass\s+0 \(the function is throttled/m);
    assert.match(weak.stderr, /fails 4 of 5 checks: code signing, VPC, DLQ, audit\.$/m);
  });

  /** The world's config with every enrolled key removed: a machine that knows the profile but not the key. */
  async function configWithoutKeys(): Promise<string> {
    const config = parse(await readFile(world.config, 'utf8')) as { profiles: Record<string, Record<string, unknown>> };
    for (const table of Object.values(config.profiles)) {
      delete table.fido2;
      table.touch = 'never';
    }
    const path = join(scratch, 'config-without-keys.toml');
    await writeFile(path, stringify(config));
    return path;
  }

  it('--audit FILE: the export verifies the tag where the local trail does not know it; a cut or changed export fails the audit check', async () => {
    const exported = await world.run(['audit', 'export']);
    assert.equal(exported.code, 0, exported.stderr);
    const file = join(scratch, 'trail.jsonl');
    await writeFile(file, exported.stdout);
    const elsewhere = { TNG_STATE_DIR: await mkdtemp(join(scratch, 'state-')) };

    const local = await verify([sandbox.functions.hardened], elsewhere);
    assert.equal(local.code, 8);
    assert.match(local.stderr, new RegExp(`^audit\\s+FAIL\\s+tng:audit-id ${deployExec.id} names no entry of the local audit trail`, 'm'));
    assert.match(local.stderr, /fails 1 of 5 checks: audit\.$/m);

    const fromExport = await verify([sandbox.functions.hardened, '--audit', file], elsewhere);
    assert.equal(fromExport.code, 0, fromExport.stderr);
    assert.match(fromExport.stderr, new RegExp(`^audit\\s+pass\\s+exec entry .*chained to login .* signed by security key \\S+, enrolled in profile ${world.profile} here; the audit export ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} verifies$`, 'm'));

    // On a machine where no profile enrols that key, the check still passes, and says so.
    const stranger = await verify([sandbox.functions.hardened, '--audit', file], { ...elsewhere, TNG_CONFIG: await configWithoutKeys() });
    assert.equal(stranger.code, 0, stranger.stderr);
    assert.match(stranger.stderr, /^audit\s+pass\s+exec entry .* signed by security key \S+, which no profile here enrolls \(compare it with the signer's `tng whoami`\); the audit export/m);

    // From the exec on, the signed login it names lies before the export.
    const since = await world.run(['audit', 'export', '--since', deployExec.id]);
    assert.equal(since.code, 0, since.stderr);
    const sinceFile = join(scratch, 'since.jsonl');
    await writeFile(sinceFile, since.stdout);
    const cut = await verify([sandbox.functions.hardened, '--audit', sinceFile], elsewhere);
    assert.equal(cut.code, 8);
    assert.match(cut.stderr, /^audit\s+FAIL\s+exec entry .* names login .*, which lies before the export/m);

    // One changed byte in the exec entry: the export no longer verifies.
    const changed = exported.stdout.replace(`"program":"sh"`, `"program":"sH"`);
    assert.notEqual(changed, exported.stdout);
    const changedFile = join(scratch, 'changed.jsonl');
    await writeFile(changedFile, changed);
    const tampered = await verify([sandbox.functions.hardened, '--audit', changedFile], elsewhere);
    assert.equal(tampered.code, 8);
    assert.match(tampered.stderr, new RegExp(`^audit\\s+FAIL\\s+the audit export .* does not verify at entry ${deployExec.seq} \\(${deployExec.id}\\): its hash does not match`, 'm'));

    const missing = await verify([sandbox.functions.hardened, '--audit', join(scratch, 'no-such-file')]);
    assert.equal(missing.code, 2);
  });

  it('an unknown function is exit 2 naming it; a refused call exit 4; an unreachable endpoint exit 6', async () => {
    const unknown = await verify(['no-such-fn']);
    assert.equal(unknown.code, 2, unknown.stderr);
    assert.match(unknown.stderr, /^tng: No Lambda function "no-such-fn" in us-east-1/m);
    assert.match(unknown.stderr, /^hint: /m);

    sandbox.aws.deny('GetFunctionConcurrency');
    try {
      const denied = await verify([sandbox.functions.hardened]);
      assert.equal(denied.code, 4, denied.stderr);
      assert.match(denied.stderr, /^tng: AWS refused Lambda GetFunctionConcurrency \(AccessDeniedException: /m);
    } finally {
      sandbox.aws.allow('GetFunctionConcurrency');
    }

    const dead = 'http://127.0.0.1:9';
    const unreachable = await verify([sandbox.functions.hardened], { AWS_ENDPOINT_URL_SQS: dead });
    assert.equal(unreachable.code, 6, unreachable.stderr);
    assert.match(unreachable.stderr, /^tng: Cannot get an answer from SQS at http:\/\/127\.0\.0\.1:9 for GetQueueUrl/m);
  });

  it('honours AWS_ENDPOINT_URL_LAMBDA / _SQS / _SNS over AWS_ENDPOINT_URL, as the SDKs do', async () => {
    const env = { AWS_ENDPOINT_URL: 'http://127.0.0.1:9', AWS_ENDPOINT_URL_LAMBDA: sandbox.awsUrl, AWS_ENDPOINT_URL_SQS: sandbox.awsUrl, AWS_ENDPOINT_URL_SNS: sandbox.awsUrl };
    const sqs = await verify([sandbox.functions.hardened], env);
    assert.equal(sqs.code, 0, sqs.stderr);
    const sns = await verify([sandbox.functions.hardenedTopic], env);
    assert.equal(sns.code, 0, sns.stderr);
    const ignored = await verify([sandbox.functions.hardened], { ...env, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true', HTTPS_PROXY: 'http://127.0.0.1:9' });
    assert.equal(ignored.code, 6, 'with configured endpoints ignored, tng goes to AWS itself (through the dead proxy)');
  });

  it('without a session: exit 3, no AWS call', async () => {
    const other = await createWorld();
    try {
      await initProfile(other, sandbox, ['--aws-role', 'deploy', '--aws-region', 'us-east-1']);
      const from = sandbox.aws.requests().length;
      const result = await other.run(['lambda', 'verify', '--profile', other.profile, sandbox.functions.hardened], { env: { AWS_ENDPOINT_URL: sandbox.awsUrl } });
      assert.equal(result.code, 3, result.stderr);
      assert.match(result.stderr, /hint: Run `tng login`/);
      assert.equal(sandbox.aws.requests().length, from);
    } finally {
      await other.dispose();
    }
  });
});
