/**
 * `npm run bench`: start-up cost of tng's hot paths against Node's own, measured against the sandbox.
 * Runs alternate (node, tng, node, tng, …) in one process tree so machine noise hits both alike, and
 * prints medians with their targets. A benchmark, not a test: it never fails the build.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLIENT_ID, ROLE, startSandbox } from '../test/sandbox/index.ts';
import { BROWSER_HELPER, TNG, runProcess } from '../test/e2e/harness.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 25);

function timeOnce(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr}`));
      else resolve(Number(process.hrtime.bigint() - started) / 1e6);
    });
  });
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

async function compare(label: string, args: string[], env: NodeJS.ProcessEnv, target: number): Promise<void> {
  const node: number[] = [];
  const tng: number[] = [];
  await timeOnce(TNG, args, env); // warm the file cache and the credentials cache
  for (let i = 0; i < RUNS; i++) {
    node.push(await timeOnce(process.execPath, ['-e', '0'], env));
    tng.push(await timeOnce(TNG, args, env));
  }
  const ratio = median(tng) / median(node);
  process.stdout.write(
    `${label.padEnd(36)} ${median(tng).toFixed(1).padStart(7)} ms   node -e 0 ${median(node).toFixed(1).padStart(6)} ms   ratio ${ratio.toFixed(2)}  (target <= ${target})  ${ratio <= target ? 'ok' : 'OVER'}\n`,
  );
}

const sandbox = await startSandbox();
const home = await mkdtemp(join(tmpdir(), 'tng-bench-'));
const env: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  HOME: home,
  DBUS_SESSION_BUS_ADDRESS: process.env.DBUS_SESSION_BUS_ADDRESS,
  BROWSER: `${process.execPath} ${BROWSER_HELPER}`,
  TNG_PROFILE: 'bench',
};
try {
  const init = await runProcess(TNG, ['init', '--issuer', sandbox.issuer, '--client-id', CLIENT_ID, '--vault-addr', sandbox.vaultAddr, '--vault-role', ROLE, '--aws-role', 'deploy'], env);
  if (init.code !== 0) throw new Error(init.stderr);
  const login = await runProcess(TNG, ['login'], env, { tty: true });
  if (login.code !== 0) throw new Error(login.stdout);
  process.stdout.write(`tng start-up, medians of ${RUNS} alternating runs (warm: session and credentials cached)\n`);
  await compare('tng exec -- true', ['exec', '--', 'true'], env, 1.3);
  await compare('tng credential-process', ['credential-process'], env, 1.3);
} finally {
  await sandbox.close();
  await rm(home, { recursive: true, force: true });
}
