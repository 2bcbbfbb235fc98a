import assert from 'node:assert/strict';
import { type Server, type Socket, createServer } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BROADCAST_CID, CTAPHID, decodePacket, encodeMessage } from '../../../src/fido2/hid/framing.ts';
import { CtapHidChannel, initAnswer } from '../../../src/fido2/hid/transport.ts';
import { openUnixDevice } from '../../../src/fido2/hid/unix.ts';
import { rejectsWith } from './helpers.ts';
import { tempDirs } from '../../temp-dirs.ts';

const newDir = tempDirs('fido2');

const servers: Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

async function listen(onConnection: (socket: Socket) => void): Promise<string> {
  const dir = await newDir();
  const path = join(dir, 'dev.sock');
  const server = createServer(onConnection);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return path;
}

const report = (fill: number) => new Uint8Array(64).fill(fill);

describe('UNIX socket report device', () => {
  it('reassembles reports from arbitrary stream chunks and writes raw 64-byte reports', async () => {
    const fromHost: Buffer[] = [];
    const path = await listen((socket) => {
      const stream = Buffer.concat([report(1), report(2), report(3)]);
      // 10 bytes, then 100 (rest of #1 and part of #2), then 1 byte at a time for a while, then the rest.
      socket.write(stream.subarray(0, 10));
      setTimeout(() => socket.write(stream.subarray(10, 110)), 5);
      setTimeout(() => {
        for (let i = 110; i < 130; i++) socket.write(stream.subarray(i, i + 1));
        socket.write(stream.subarray(130));
      }, 10);
      socket.on('data', (chunk) => fromHost.push(chunk));
    });
    const device = await openUnixDevice(path);
    assert.deepEqual(await device.read(), report(1));
    assert.deepEqual(await device.read(), report(2));
    assert.deepEqual(await device.read(), report(3));
    await device.write(report(7));
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(Buffer.concat(fromHost), Buffer.from(report(7)));
    await assert.rejects(device.write(new Uint8Array(65)), RangeError);
    await device.close();
  });

  it('an aborted read loses nothing: the report goes to the next reader', async () => {
    let server: Socket | undefined;
    const path = await listen((socket) => {
      server = socket;
    });
    const device = await openUnixDevice(path);
    const controller = new AbortController();
    const pending = device.read(controller.signal);
    controller.abort();
    await assert.rejects(pending, { name: 'AbortError' });
    server?.write(report(9));
    assert.deepEqual(await device.read(), report(9));
    await device.close();
  });

  it('a connection closed mid-call is "authenticator unplugged"', async () => {
    const path = await listen((socket) => {
      socket.on('data', (chunk) => {
        const packet = decodePacket(new Uint8Array(chunk.subarray(0, 64)));
        if (packet.kind === 'init' && packet.cmd === CTAPHID.INIT) {
          for (const r of encodeMessage(BROADCAST_CID, CTAPHID.INIT, initAnswer(packet.data.subarray(0, 8), 7, 4))) socket.write(r);
        } else {
          for (const r of encodeMessage(7, CTAPHID.KEEPALIVE, new Uint8Array([2]))) socket.write(r);
          setTimeout(() => socket.destroy(), 10);
        }
      });
    });
    const channel = await CtapHidChannel.open(await openUnixDevice(path), { name: 'unix:test' });
    const error = await rejectsWith(channel.cbor(new Uint8Array([2])), 'fido2.unplugged', 'authenticator');
    assert.match(error.message, /unplugged/);
    await rejectsWith(channel.device.write(report(0)), 'fido2.unplugged');
  });

  it('a missing socket is fido2.none-found', async () => {
    const dir = await newDir();
    const error = await rejectsWith(openUnixDevice(join(dir, 'nothing.sock')), 'fido2.none-found', 'authenticator');
    assert.match(error.message, /ENOENT/);
  });

  it('an aborted connect is interrupted', async () => {
    const dir = await newDir();
    await rejectsWith(openUnixDevice(join(dir, 'x.sock'), { signal: AbortSignal.abort() }), 'fido2.interrupted', 'interrupted');
  });
});
