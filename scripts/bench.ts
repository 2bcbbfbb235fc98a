/**
 * `npm run bench`: what tng adds to the commands it runs, measured against the sandbox and printed with each
 * target. Timed runs alternate with Node's own start-up (node, tng, node, tng, …) in one process tree, so
 * machine noise hits both alike; figures are medians. A benchmark, not a test: it never fails the build
 * (BENCH_STRICT=1 makes a missed target exit 1).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startVirtualAuthenticator } from '../test/sandbox/authenticator/index.ts';
import { CLIENT_ID, ROLE, startSandbox } from '../test/sandbox/index.ts';
import { BROWSER_HELPER, TNG, runProcess } from '../test/e2e/harness.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 25);
const PARALLEL = 50;
let missed = 0;

interface Timed {
  ms: number;
  /** Peak RSS in kB, when measured with /usr/bin/time. */
  rssKb?: number;
}

function timeOnce(command: string, args: string[], env: NodeJS.ProcessEnv, options: { rss?: boolean } = {}): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const [cmd, argv] = options.rss ? ['/usr/bin/time', ['-f', 'tng-bench-rss %M', command, ...args]] : [command, args];
    const started = process.hrtime.bigint();
    const child = spawn(cmd as string, argv as string[], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0) return reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr}`));
      const rss = /tng-bench-rss (\d+)/.exec(stderr)?.[1];
      resolve(rss === undefined ? { ms } : { ms, rssKb: Number(rss) });
    });
  });
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

function line(label: string, figure: string, target: string, ok: boolean): void {
  if (!ok) missed++;
  process.stdout.write(`${label.padEnd(44)} ${figure.padEnd(44)} target ${target.padEnd(16)} ${ok ? 'ok' : 'MISSED'}\n`);
}

/**
 * Warm start-up, alternating in one loop: Node alone, the floor (scripts/bench-floor.cjs: Node, one keychain
 * read through tng's library, spawning `true`; no tng code), and each tng command.
 */
const floorArgs = (item: string) => [new URL('./bench-floor.cjs', import.meta.url).pathname, 'tng', item];

async function startUp(commands: Array<{ label: string; args: string[] }>, floorItem: string, env: NodeJS.ProcessEnv, target: number): Promise<void> {
  const floor = floorArgs(floorItem);
  for (const { args } of commands) await timeOnce(TNG, args, env); // warms the file cache and the credential cache
  await timeOnce(process.execPath, floor, env);
  const node: number[] = [];
  const floorMs: number[] = [];
  const tng: number[][] = commands.map(() => []);
  for (let i = 0; i < RUNS; i++) {
    node.push((await timeOnce(process.execPath, ['-e', '0'], env)).ms);
    floorMs.push((await timeOnce(process.execPath, floor, env)).ms);
    for (const [c, { args }] of commands.entries()) (tng[c] as number[]).push((await timeOnce(TNG, args, env)).ms);
  }
  const base = median(node);
  for (const [c, { label }] of commands.entries()) {
    const ms = median(tng[c] as number[]);
    line(label, `${ms.toFixed(1)} ms vs node -e 0 ${base.toFixed(1)} ms = ${(ms / base).toFixed(2)}`, `ratio <= ${target}`, ms / base <= target);
  }
  const floorMedian = median(floorMs);
  line(
    'floor: node + 1 keychain read + spawn, no tng',
    `${floorMedian.toFixed(1)} ms = ${(floorMedian / base).toFixed(2)} x node -e 0`,
    'reported',
    true,
  );
}

async function peakRss(label: string, args: string[], env: NodeJS.ProcessEnv, targetMb: number): Promise<void> {
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) samples.push(((await timeOnce(TNG, args, env, { rss: true })).rssKb ?? 0) / 1024);
  const node = ((await timeOnce(process.execPath, ['-e', '0'], env, { rss: true })).rssKb ?? 0) / 1024;
  const mb = median(samples);
  line(label, `${mb.toFixed(1)} MB (node -e 0: ${node.toFixed(1)} MB)`, `<= ${targetMb} MB`, mb <= targetMb);
}

/** Wall time of `count` copies of a command started together. */
async function parallel(count: number, command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: count }, () => timeOnce(command, args, env)));
  return Number(process.hrtime.bigint() - started) / 1e6;
}

async function dirBytes(dir: string): Promise<{ bytes: number; files: number }> {
  let bytes = 0;
  let files = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    bytes += (await stat(join(entry.parentPath, entry.name))).size;
    files++;
  }
  return { bytes, files };
}

const sandbox = await startSandbox();
const key = await startVirtualAuthenticator({ touch: { kind: 'auto', delayMs: 0 } });
const home = await mkdtemp(join(tmpdir(), 'tng-bench-'));
const env: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  HOME: home,
  DBUS_SESSION_BUS_ADDRESS: process.env.DBUS_SESSION_BUS_ADDRESS,
  BROWSER: `${process.execPath} ${BROWSER_HELPER}`,
  TNG_PROFILE: 'bench',
};
const touchEnv: NodeJS.ProcessEnv = { ...env, TNG_PROFILE: 'touch', TNG_FIDO2_DEVICE: key.device };
const must = async (args: string[], runEnv: NodeJS.ProcessEnv, tty = false) => {
  const result = await runProcess(TNG, args, runEnv, { tty });
  if (result.code !== 0) throw new Error(`tng ${args.join(' ')}: ${result.stderr || result.stdout}`);
};
try {
  const common = ['--issuer', sandbox.issuer, '--client-id', CLIENT_ID, '--vault-addr', sandbox.vaultAddr, '--vault-role', ROLE, '--aws-role', 'deploy'];
  await must(['init', '--profile', 'bench', ...common], env);
  await must(['login'], env, true);
  await must(['init', '--profile', 'touch', ...common], env);
  await must(['login'], touchEnv, true);
  await must(['enroll', '--uv', 'discouraged'], touchEnv);

  process.stdout.write(`tng ${TNG} — medians of ${RUNS} alternating runs against node -e 0 (warm: session and credentials cached)\n\n`);
  await startUp(
    [
      { label: 'warm tng exec -- true', args: ['exec', '--', 'true'] },
      { label: 'warm tng credential-process', args: ['credential-process'] },
    ],
    'profile:bench:session',
    env,
    1.3,
  );
  await peakRss('peak RSS of warm tng exec -- true', ['exec', '--', 'true'], env, 60);

  const logins: number[] = [];
  for (let i = 0; i < Math.min(RUNS, 15); i++) logins.push((await timeOnce(TNG, ['login'], touchEnv)).ms);
  line('tng login: touch + refresh token + Vault', `${median(logins).toFixed(1)} ms (median of ${logins.length})`, '<= 300 ms', median(logins) <= 300);

  // An empty credential cache: a fresh login starts a session with none. (On a terminal: the touch profile's
  // logins, as the same user, have replaced this profile's refresh token, as Dex keeps one per user.)
  await must(['login'], env, true);
  const path = '/v1/aws/sts/deploy';
  const issuedBefore = sandbox.vault.count('POST', path) + sandbox.vault.count('PUT', path);
  const nodeWall = await parallel(PARALLEL, process.execPath, ['-e', '0'], env);
  const tngWall = await parallel(PARALLEL, TNG, ['exec', '--', 'true'], env);
  const issued = sandbox.vault.count('POST', path) + sandbox.vault.count('PUT', path) - issuedBefore;
  line(`${PARALLEL} parallel tng exec, empty cache`, `all exit 0, ${issued} issuance${issued === 1 ? '' : 's'} at Vault`, 'exactly 1', issued === 1);
  const factor = tngWall / nodeWall;
  line(`${PARALLEL} parallel tng exec: wall`, `${tngWall.toFixed(0)} ms vs ${PARALLEL} node -e 0 ${nodeWall.toFixed(0)} ms = ${factor.toFixed(2)}`, '<= 2 x', factor <= 2);
  const floorWall = await parallel(PARALLEL, process.execPath, floorArgs('profile:bench:session'), env);
  line(`${PARALLEL} parallel floor: wall`, `${floorWall.toFixed(0)} ms = ${(floorWall / nodeWall).toFixed(2)} x ${PARALLEL} node -e 0`, 'reported', true);

  const dist = await dirBytes(new URL('../dist/', import.meta.url).pathname);
  const main = (await stat(new URL('../dist/main.js', import.meta.url))).size;
  line('shipped bundle (dist/)', `${(dist.bytes / 1024).toFixed(0)} KiB in ${dist.files} files; main.js ${(main / 1024).toFixed(0)} KiB`, 'reported', true);
} finally {
  await Promise.allSettled([sandbox.close(), key.close()]);
  await rm(home, { recursive: true, force: true });
}
process.stdout.write(missed === 0 ? '\nevery target met\n' : `\n${missed} target(s) missed\n`);
if (process.env.BENCH_STRICT === '1' && missed > 0) process.exitCode = 1;
