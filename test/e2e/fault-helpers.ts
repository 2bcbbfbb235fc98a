/**
 * What every row of the fault matrix checks: the exit code, tng's two lines (what failed, what to do),
 * no stack trace, and what survived.
 */
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createOsKeychain } from '../../src/keychain/os.ts';
import type { Sandbox } from '../sandbox/index.ts';
import type { RunResult, World } from './harness.ts';
import { createWorld, initProfile, login, whoamiJson } from './harness.ts';

/**
 * The exit code, then tng's error as exactly two consecutive lines: `tng: <what failed>` matching
 * `message` and `hint: <what to do>` matching `hint`. Output from a terminal (stdout and stderr together)
 * and from pipes (stderr) are both read. Returns the two lines.
 */
export function assertFailure(result: RunResult, code: number, message: RegExp, hint: RegExp): { message: string; hint: string } {
  // A terminal echoes Ctrl-C as "^C" in front of whatever is printed next.
  const text = `${result.stderr}\n${result.stdout}`.replace(/\r/g, '').replace(/\^C/g, '');
  assert.equal(result.code, code, `exit ${result.code}, expected ${code}:\n${text}`);
  const lines = text.split('\n');
  const at = lines.findIndex((line) => /^tng: /.test(line));
  assert.ok(at >= 0, `no "tng: " line in:\n${text}`);
  const first = lines[at] as string;
  const second = lines[at + 1] ?? '';
  assert.match(first, message);
  assert.match(second, /^hint: \S/, `the line after "${first}" is not a hint:\n${text}`);
  assert.match(second, hint);
  assert.doesNotMatch(text, /\n\s+at .+:\d+:\d+/, 'a stack trace was printed');
  assert.equal(lines.filter((line) => /^tng: /.test(line)).length, 1, `more than one error line:\n${text}`);
  return { message: first, hint: second };
}

/** The Vault accessor of the world's live session (whoami reads it at Vault). */
export async function liveAccessor(world: World): Promise<string> {
  const { result, report } = await whoamiJson(world);
  assert.equal(result.code, 0, `whoami failed: ${result.stderr}`);
  return report?.vault.accessor as string;
}

/** The still-valid session survived: whoami succeeds with the same Vault token as before. */
export async function assertSessionKept(world: World, accessor: string): Promise<void> {
  assert.equal(await liveAccessor(world), accessor, 'the still-valid session was replaced or lost');
}

/** A keychain item of the world's profile, read directly (the test runs in the same D-Bus session). */
export function storedItem(world: World, kind: 'session' | 'refresh-token' | 'keys'): Promise<string | undefined> {
  return createOsKeychain().get(`profile:${world.profile}:${kind}`);
}

/** The state dir as it is: every file's bytes, for "nothing half-written" checks. */
export async function stateSnapshot(world: World): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  const walk = async (dir: string, prefix: string) => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path, `${prefix}${entry.name}/`);
      else files[`${prefix}${entry.name}`] = (await readFile(path)).toString('base64');
    }
  };
  await walk(world.state, '');
  return files;
}

/** `tng audit --verify` passes: no torn or altered entry. */
export async function assertAuditIntact(world: World): Promise<void> {
  const verify = await world.run(['audit', '--verify', '--profile', world.profile]);
  assert.equal(verify.code, 0, `audit --verify: ${verify.stderr}`);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A world with a session from a browser login (so a stored refresh token), and its Vault accessor. */
export async function loggedInWorld(sandbox: Sandbox, extra: string[] = []): Promise<{ world: World; accessor: string }> {
  const world = await createWorld();
  await initProfile(world, sandbox, extra);
  const first = await login(world);
  assert.equal(first.code, 0, first.stdout);
  return { world, accessor: await liveAccessor(world) };
}
