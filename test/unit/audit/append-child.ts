/**
 * A separate process appending to a trail: `node --import tsx append-child.ts STATE_DIR COUNT LABEL`.
 * It says "ready" once loaded and appends when it reads "go" on stdin, so every process starts together;
 * it prints the ids it wrote as a JSON array.
 */
import { appendEntry, newNonce } from '../../../src/audit/chain.ts';

const [dir, count, label] = process.argv.slice(2) as [string, string, string];
process.stdout.write('ready\n');
await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
process.stdin.pause();
const written = await Promise.all(
  Array.from({ length: Number(count) }, (_, i) => appendEntry(dir, { event: 'login', profile: `${label}-${i}`, credential_id: null, nonce: newNonce() })),
);
process.stdout.write(`${JSON.stringify(written.map((e) => e.id))}\n`);
