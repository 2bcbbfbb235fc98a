import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TngError } from '../../../src/errors.ts';
import { BROADCAST_CID, CTAPHID, decodePacket, encodeMessage } from '../../../src/fido2/hid/framing.ts';
import { CtapHidChannel, CtapHidError, initAnswer } from '../../../src/fido2/hid/transport.ts';
import { ScriptedDevice, rejectsWith } from './helpers.ts';

const CID = 0x0a0b0c0d;
const NONCE = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
const send = (device: ScriptedDevice, cid: number, cmd: number, payload: Uint8Array | number[]) => {
  for (const r of encodeMessage(cid, cmd, new Uint8Array(payload))) device.push(r);
};

/** Answers INIT on the broadcast channel correctly; `then` handles everything else. */
function withInit(then: (cmd: number, data: Uint8Array, device: ScriptedDevice, cid: number) => void, capabilities = 0x05) {
  return (report: Uint8Array, device: ScriptedDevice) => {
    const packet = decodePacket(report);
    if (packet.kind !== 'init') return;
    if (packet.cmd === CTAPHID.INIT) {
      send(device, packet.cid, CTAPHID.INIT, initAnswer(packet.data.subarray(0, 8), packet.cid === BROADCAST_CID ? CID : packet.cid, capabilities));
      return;
    }
    then(packet.cmd, packet.data.subarray(0, packet.bcnt), device, packet.cid);
  };
}

const fixedNonce = () => new Uint8Array(NONCE);
const noSleep = async () => undefined;

describe('CtapHidChannel', () => {
  it('allocates a channel with INIT on the broadcast CID, ignoring answers with other nonces', async () => {
    const device = new ScriptedDevice((report, d) => {
      const packet = decodePacket(report);
      assert.equal(packet.cid, BROADCAST_CID);
      assert.equal(packet.kind === 'init' && packet.cmd, CTAPHID.INIT);
      assert.equal(packet.kind === 'init' && packet.bcnt, 8);
      // Another program's INIT answer first, then a packet on some other channel, then ours.
      send(d, BROADCAST_CID, CTAPHID.INIT, initAnswer(new Uint8Array(8).fill(9), 0x99999999, 0x0d));
      send(d, 0x12345678, CTAPHID.CBOR, [0]);
      send(d, BROADCAST_CID, CTAPHID.INIT, initAnswer(NONCE, CID, 0x05, [5, 7, 1]));
    });
    const channel = await CtapHidChannel.open(device, { random: fixedNonce });
    assert.equal(channel.cid, CID);
    assert.deepEqual(channel.init.deviceVersion, [5, 7, 1]);
    assert.equal(channel.init.protocolVersion, 2);
    assert.equal(channel.supportsCbor, true);
    assert.equal(channel.supportsWink, true);
    assert.equal(channel.supportsMsg, true);
    assert.deepEqual([...(device.written[0] as Uint8Array).subarray(7, 15)], [...NONCE]);
  });

  it('reports NMSG and a missing CBOR capability', async () => {
    const device = new ScriptedDevice(withInit(() => undefined, 0x08));
    const channel = await CtapHidChannel.open(device);
    assert.equal(channel.supportsCbor, false);
    assert.equal(channel.supportsMsg, false);
  });

  it('fails INIT with fido2.timeout when no matching answer comes, and with fido2.protocol on a short one', async () => {
    const silent = new ScriptedDevice((_r, d) => send(d, BROADCAST_CID, CTAPHID.INIT, initAnswer(new Uint8Array(8), 1, 4)));
    await rejectsWith(CtapHidChannel.open(silent, { random: fixedNonce, initTimeoutMs: 50 }), 'fido2.timeout', 'authenticator');
    const short = new ScriptedDevice((_r, d) => send(d, BROADCAST_CID, CTAPHID.INIT, [...NONCE, 0, 0, 0]));
    await rejectsWith(CtapHidChannel.open(short, { random: fixedNonce }), 'fido2.protocol');
  });

  it('refuses a broadcast or zero channel id', async () => {
    const device = new ScriptedDevice((_r, d) => send(d, BROADCAST_CID, CTAPHID.INIT, initAnswer(NONCE, 0, 4)));
    await rejectsWith(CtapHidChannel.open(device, { random: fixedNonce }), 'fido2.protocol');
  });

  it('passes a call through and notifies KEEPALIVE status changes only', async () => {
    const device = new ScriptedDevice(
      withInit((cmd, data, d, cid) => {
        assert.equal(cmd, CTAPHID.CBOR);
        assert.deepEqual([...data], [0x04]);
        for (const status of [1, 1, 1, 2, 2, 1]) send(d, cid, CTAPHID.KEEPALIVE, [status]);
        send(d, cid, CTAPHID.CBOR, [0x00, 0xa0]);
      }),
    );
    const channel = await CtapHidChannel.open(device);
    const seen: number[] = [];
    const answer = await channel.cbor(new Uint8Array([0x04]), { onKeepalive: (s) => seen.push(s) });
    assert.deepEqual([...answer], [0x00, 0xa0]);
    assert.deepEqual(seen, [1, 2, 1]);
  });

  it('retries CHANNEL_BUSY after a pause, then succeeds', async () => {
    let attempts = 0;
    const pauses: number[] = [];
    const device = new ScriptedDevice(
      withInit((_cmd, _data, d, cid) => {
        attempts++;
        if (attempts <= 2) send(d, cid, CTAPHID.ERROR, [0x06]);
        else send(d, cid, CTAPHID.CBOR, [0x00]);
      }),
    );
    const channel = await CtapHidChannel.open(device, {
      sleep: async (ms) => {
        pauses.push(ms);
      },
    });
    assert.deepEqual([...(await channel.cbor(new Uint8Array([0x0b])))], [0x00]);
    assert.equal(attempts, 3);
    assert.deepEqual(pauses, [100, 100]);
  });

  it('gives up on CHANNEL_BUSY after the bounded number of retries', async () => {
    let attempts = 0;
    const device = new ScriptedDevice(
      withInit((_cmd, _data, d, cid) => {
        attempts++;
        send(d, cid, CTAPHID.ERROR, [0x06]);
      }),
    );
    const channel = await CtapHidChannel.open(device, { sleep: noSleep, maxBusyRetries: 4 });
    const error = await rejectsWith(channel.cbor(new Uint8Array([1])), 'fido2.busy', 'authenticator');
    assert.ok(error instanceof CtapHidError);
    assert.equal(error.hidCode, 0x06);
    assert.equal(attempts, 5);
  });

  it('turns other ERROR frames into typed errors', async () => {
    const device = new ScriptedDevice(withInit((_cmd, _data, d, cid) => send(d, cid, CTAPHID.ERROR, [0x01])));
    const channel = await CtapHidChannel.open(device);
    const error = await rejectsWith(channel.cbor(new Uint8Array([4])), 'fido2.not-supported');
    assert.ok(error instanceof CtapHidError);
    assert.equal(error.hidName, 'INVALID_CMD');
  });

  it('on abort sends CTAPHID_CANCEL, waits for the cancelled answer and rejects as interrupted', async () => {
    const controller = new AbortController();
    const device = new ScriptedDevice(
      withInit((cmd, _data, d, cid) => {
        if (cmd === CTAPHID.CBOR) {
          send(d, cid, CTAPHID.KEEPALIVE, [2]);
          setTimeout(() => controller.abort(), 10);
        } else if (cmd === CTAPHID.CANCEL) {
          send(d, cid, CTAPHID.CBOR, [0x2d]); // KEEPALIVE_CANCEL
        }
      }),
    );
    const channel = await CtapHidChannel.open(device);
    const error = await rejectsWith(channel.cbor(new Uint8Array([0x02]), { signal: controller.signal }), 'fido2.interrupted', 'interrupted');
    assert.equal(error.exitCode, 130);
    const cancels = device.written.filter((r) => r[4] === 0x91);
    assert.equal(cancels.length, 1);
    assert.equal(decodePacket(cancels[0] as Uint8Array).cid, CID);
    // The answer was drained, so the next call needs no resynchronisation.
    const before = device.written.length;
    device.onWrite = withInit((_cmd, _data, d, cid) => send(d, cid, CTAPHID.CBOR, [0x00, 0x01]));
    assert.deepEqual([...(await channel.cbor(new Uint8Array([4])))], [0x00, 0x01]);
    assert.equal(device.written.length, before + 1);
  });

  it('rejects at once when the signal has already fired', async () => {
    const device = new ScriptedDevice(withInit(() => undefined));
    const channel = await CtapHidChannel.open(device);
    await rejectsWith(channel.cbor(new Uint8Array([4]), { signal: AbortSignal.abort() }), 'fido2.interrupted', 'interrupted');
  });

  it('resynchronises with INIT on its own CID after a cancelled request never answered, skipping stale answers', async () => {
    const controller = new AbortController();
    let stale: (() => void) | undefined;
    const device = new ScriptedDevice(
      withInit((cmd, _data, d, cid) => {
        if (cmd === CTAPHID.CBOR) {
          stale = () => send(d, cid, CTAPHID.CBOR, [0x2d]);
          setTimeout(() => controller.abort(), 5);
        }
      }),
    );
    const channel = await CtapHidChannel.open(device, { cancelGraceMs: 30 });
    await rejectsWith(channel.cbor(new Uint8Array([0x02]), { signal: controller.signal }), 'fido2.interrupted');
    stale?.(); // the late answer arrives after tng stopped waiting
    const writes = device.written.length;
    device.onWrite = withInit((_cmd, _data, d, cid) => send(d, cid, CTAPHID.CBOR, [0x00, 0x42]));
    assert.deepEqual([...(await channel.cbor(new Uint8Array([4])))], [0x00, 0x42]);
    const resync = device.written[writes] as Uint8Array;
    assert.equal(decodePacket(resync).cid, CID);
    assert.equal(resync[4], 0x86); // INIT on the allocated channel
  });

  it('times out a call (after CANCEL) with fido2.timeout', async () => {
    const device = new ScriptedDevice(
      withInit((cmd, _data, d, cid) => {
        if (cmd === CTAPHID.CBOR) send(d, cid, CTAPHID.KEEPALIVE, [1]);
        if (cmd === CTAPHID.CANCEL) send(d, cid, CTAPHID.CBOR, [0x2d]);
      }),
    );
    const channel = await CtapHidChannel.open(device);
    const started = Date.now();
    await rejectsWith(channel.cbor(new Uint8Array([2]), { timeoutMs: 40 }), 'fido2.timeout', 'authenticator');
    assert.ok(Date.now() - started < 1000);
    assert.ok(device.written.some((r) => r[4] === 0x91));
  });

  it('reports an unplugged device mid-call', async () => {
    const device = new ScriptedDevice(
      withInit((_cmd, _data, d, cid) => {
        send(d, cid, CTAPHID.KEEPALIVE, [1]);
        setTimeout(() => d.end(), 5);
      }),
    );
    const channel = await CtapHidChannel.open(device);
    await rejectsWith(channel.cbor(new Uint8Array([2])), 'fido2.unplugged');
  });

  it('runs concurrent calls one at a time', async () => {
    const order: string[] = [];
    const device = new ScriptedDevice(
      withInit((_cmd, data, d, cid) => {
        order.push(`req${data[0]}`);
        setTimeout(() => {
          order.push(`ans${data[0]}`);
          send(d, cid, CTAPHID.CBOR, [0, data[0] as number]);
        }, 10);
      }),
    );
    const channel = await CtapHidChannel.open(device);
    const answers = await Promise.all([1, 2, 3].map((n) => channel.cbor(new Uint8Array([n]))));
    assert.deepEqual(answers.map((a) => a[1]), [1, 2, 3]);
    assert.deepEqual(order, ['req1', 'ans1', 'req2', 'ans2', 'req3', 'ans3']);
  });

  it('sends and reassembles long messages (PING echo of 7609 bytes)', async () => {
    const device = new ScriptedDevice(withInit(() => undefined));
    const channel = await CtapHidChannel.open(device);
    const received: Uint8Array[] = [];
    device.onWrite = (report, d) => {
      received.push(report);
      if (received.length === 129) for (const r of received) d.push(r); // echo the very packets
    };
    const payload = new Uint8Array(7609).map((_, i) => (i * 13) & 0xff);
    const echo = await channel.ping(payload);
    assert.deepEqual(echo, payload);
    assert.deepEqual(received.map((r) => r[4]), [0x81, ...Array.from({ length: 128 }, (_, i) => i)]);
  });

  it('closes the device once', async () => {
    const device = new ScriptedDevice(withInit(() => undefined));
    const channel = await CtapHidChannel.open(device);
    await channel.close();
    await channel.close();
    assert.equal(device.closed, true);
    await rejectsWith(channel.cbor(new Uint8Array([4])), 'fido2.unplugged');
    assert.ok(new CtapHidError(0x04) instanceof TngError);
  });
});
