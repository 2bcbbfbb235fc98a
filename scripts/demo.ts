/**
 * `npm run demo`: walks tng's whole chain against the local sandbox, with nothing external.
 * Starts the Dex-shaped OIDC provider and the Vault emulator, gives tng a throw-away HOME, and runs the
 * built `bin/tng` step by step, showing each command and what it printed. The login runs on a
 * pseudo-terminal (tng logs in interactively only at a terminal) with the sandbox's scripted browser.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startVirtualAuthenticator } from '../test/sandbox/authenticator/index.ts';
import { CLIENT_ID, ROLE, startSandbox } from '../test/sandbox/index.ts';
import { BROWSER_HELPER, TNG, runProcess, type RunResult } from '../test/e2e/harness.ts';

const bold = (text: string) => (process.stdout.isTTY ? `\u001b[1m${text}\u001b[0m` : text);
const dim = (text: string) => (process.stdout.isTTY ? `\u001b[2m${text}\u001b[0m` : text);

const sandbox = await startSandbox();
// The security key: a virtual FIDO2 authenticator on a UNIX socket, touched 0.3 s after it asks.
const securityKey = await startVirtualAuthenticator({ touch: { kind: 'auto', delayMs: 300 } });
const home = await mkdtemp(join(tmpdir(), 'tng-demo-'));
const env: Record<string, string | undefined> = {
  PATH: process.env.PATH,
  HOME: home,
  TERM: process.env.TERM ?? 'xterm',
  DBUS_SESSION_BUS_ADDRESS: process.env.DBUS_SESSION_BUS_ADDRESS,
  BROWSER: `${process.execPath} ${BROWSER_HELPER}`,
  TNG_PROFILE: 'demo',
  AWS_ENDPOINT_URL_STS: sandbox.stsUrl,
  AWS_ENDPOINT_URL: sandbox.awsUrl,
  AWS_EC2_METADATA_DISABLED: 'true',
  TNG_FIDO2_DEVICE: securityKey.device,
};
let failures = 0;

async function step(title: string, args: string[], options: { tty?: boolean; expect?: number } = {}): Promise<RunResult> {
  process.stdout.write(`\n${bold(`▶ ${title}`)}\n${dim(`$ tng ${args.join(' ')}`)}\n`);
  const result = await runProcess(TNG, args, env, { tty: options.tty, timeoutMs: 60_000 });
  const shown = args[0] === 'credential-process' ? result.stderr : `${result.stdout}${result.stderr}`;
  const text = shown.trimEnd();
  if (text) process.stdout.write(`${text.replace(/^/gm, '  ')}\n`);
  const expected = options.expect ?? 0;
  const mark = result.code === expected ? '✔' : '✘';
  if (result.code !== expected) failures++;
  process.stdout.write(dim(`  ${mark} exit ${result.code}${expected !== 0 ? ` (expected ${expected})` : ''}\n`));
  return result;
}

try {
  process.stdout.write(`${bold('tng demo')} — sandbox issuer ${sandbox.issuer}, Vault ${sandbox.vaultAddr}, security key ${securityKey.device}\n`);
  process.stdout.write(dim(`throw-away HOME ${home}; the sandbox user is alice@example.com\n`));

  await step('Configure a profile', ['init', '--issuer', sandbox.issuer, '--client-id', CLIENT_ID, '--vault-addr', sandbox.vaultAddr, '--vault-role', ROLE, '--aws-role', 'deploy', '--aws-region', 'us-east-1']);
  await step('Log in: Dex (auth code + PKCE in the browser) → Vault JWT login → keychain', ['login'], { tty: true });
  await step('Enrol the security key: a credential with hmac-secret; its output seals the refresh token', ['enroll', '--uv', 'discouraged']);
  await step('Who am I, read live from Vault', ['whoami']);
  const json = await step('The same as JSON, for scripts', ['whoami', '--json']);
  const report = JSON.parse(json.stdout) as { vault: { accessor: string } };
  await step(
    'Run the AWS CLI with 15-minute credentials from Vault, served by tng\'s local credentials endpoint',
    ['exec', '--', '/usr/bin/aws', 'sts', 'get-caller-identity', '--endpoint-url', sandbox.stsUrl, '--output', 'json'],
  );
  await step('The AWS CLI can also ask tng itself (credential_process)', ['credential-process']).then((r) => {
    if (r.code === 0) process.stdout.write(dim('  (printed the Version 1 JSON the AWS SDKs read; secrets not shown here)\n'));
  });
  await step('Who am I now: the AWS identity is read live from STS', ['whoami']);
  await step('Touch and go: the touch opens the sealed refresh token, no browser; the old Vault token is revoked', ['login'], { tty: true });
  const revoked = sandbox.vault.tokens().find((t) => t.accessor === report.vault.accessor)?.revoked;
  process.stdout.write(dim(`  the first Vault token is ${revoked ? 'revoked' : 'STILL LIVE'} at Vault\n`));
  if (!revoked) failures++;
  const functionArn = `arn:aws:lambda:us-east-1:123456789012:function:${sandbox.functions.hardened}`;
  await step(
    'Deploy: tag the (sandbox) Lambda function with this run\'s TNG_AUDIT_ID, as Terraform would under tng exec',
    ['exec', '--', '/bin/sh', '-c', 'exec /usr/bin/aws lambda tag-resource --endpoint-url "$1" --region us-east-1 --resource "$2" --tags "tng:audit-id=$TNG_AUDIT_ID"', 'sh', sandbox.awsUrl, functionArn],
  );
  await step('The far end of the chain: the function is hardened and its tag leads back to a touch-signed login', ['lambda', 'verify', sandbox.functions.hardened]);
  await step('A function deployed without the hardening fails, naming each failing check (exit 8)', ['lambda', 'verify', sandbox.functions.weak], { expect: 8 });
  await step('Log out: revoke-self at Vault, secrets removed from the keychain', ['logout']);
  await step('After logout there is no session (exit 3)', ['whoami'], { expect: 3 });
  await step('The audit trail: logins (signed by the touch), sessions and execs, hash-chained', ['audit']);
  await step('Verify every hash, link and hardware signature in the trail', ['audit', '--verify']);
  process.stdout.write(dim(`  the security key was touched ${securityKey.stats().touches} times in this demo\n`));
} finally {
  await securityKey.close();
  await sandbox.close();
  await rm(home, { recursive: true, force: true });
}

process.stdout.write(`\n${failures === 0 ? bold('The chain works end to end.') : bold(`${failures} step(s) did not behave as expected.`)}\n`);
process.exitCode = failures === 0 ? 0 : 1;
