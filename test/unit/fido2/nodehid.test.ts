/**
 * The node-hid adapter over a fake HID handle: these machines have no HID authenticator, so the native
 * module is never opened here; the fake mimics HIDAsync (write with report-ID byte, read(timeout) that
 * returns an empty buffer on timeout, errors when the device goes away).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BROADCAST_CID, CTAPHID, decodePacket, encodeMessage } from '../../../src/fido2/hid/framing.ts';
import {
  type HidApi,
  type HidHandle,
  NodeHidDevice,
  discoverFidoHid,
  loadHidApi,
  openHidDevice,
} from '../../../src/fido2/hid/nodehid.ts';
import { CtapHidChannel, initAnswer } from '../../../src/fido2/hid/transport.ts';
import { rejectsWith } from './helpers.ts';

class FakeHid implements HidHandle {
  readonly writes: Buffer[] = [];
  readonly inbox: Buffer[] = [];
  readCalls: number[] = [];
  gone = false;
  closed = false;
  onWrite: (data: Buffer, hid: FakeHid) => void = () => undefined;

  async write(values: number[] | Buffer): Promise<number> {
    if (this.gone) throw new Error('Cannot write to hid device');
    const data = Buffer.isBuffer(values) ? Buffer.from(values) : Buffer.from(values);
    this.writes.push(data);
    this.onWrite(data, this);
    return data.length;
  }

  async read(timeoutMs?: number): Promise<Buffer | undefined> {
    this.readCalls.push(timeoutMs ?? -1);
    if (this.gone) throw new Error('could not read data from device');
    const next = this.inbox.shift();
    if (next) return next;
    await new Promise((r) => setTimeout(r, Math.min(timeoutMs ?? 5, 5)));
    return Buffer.alloc(0); // hidapi: timeout → zero bytes
  }

  async close(): Promise<void> {
    if (this.closed) throw new TypeError('device is already closed');
    this.closed = true;
  }
}

describe('node-hid loading', () => {
  it('turns an import failure into fido2.hid-unavailable with a libusb hint', async () => {
    const error = await rejectsWith(
      loadHidApi(async () => {
        throw new Error("Cannot find module 'node-hid'");
      }),
      'fido2.hid-unavailable',
      'authenticator',
    );
    assert.match(error.hint, /libusb-1\.0-0/);
    assert.match(error.message, /Cannot find module/);
    assert.ok(error.cause instanceof Error);
  });

  it('forces the native binding to load, selecting hidraw first on Linux', async () => {
    const calls: string[] = [];
    const fakeModule = {
      setDriverType: (t: string) => calls.push(`driver:${t}`),
      getHidapiVersion: () => {
        calls.push('load');
        throw new Error('libusb-1.0.so.0: cannot open shared object file: No such file or directory');
      },
      devicesAsync: async () => [],
      HIDAsync: { open: async () => new FakeHid() },
    };
    const error = await rejectsWith(loadHidApi(async () => ({ default: fakeModule }), 'linux'), 'fido2.hid-unavailable');
    assert.deepEqual(calls, ['driver:hidraw', 'load']);
    assert.match(error.message, /libusb-1\.0\.so\.0/);
  });

  it('does not pick a driver on other platforms and passes calls through', async () => {
    const calls: string[] = [];
    const fake = new FakeHid();
    const api = await loadHidApi(
      async () => ({
        setDriverType: (t: string) => calls.push(t),
        getHidapiVersion: () => '0.14.0',
        devicesAsync: async () => [{ vendorId: 1, productId: 2, path: 'p', usagePage: 0xf1d0, usage: 1 }],
        HIDAsync: { open: async (path: string) => (calls.push(`open:${path}`), fake) },
      }),
      'darwin',
    );
    assert.equal((await api.devicesAsync()).length, 1);
    assert.equal(await api.open('p'), fake);
    assert.deepEqual(calls, ['open:p']);
  });
});

describe('FIDO HID discovery', () => {
  it('keeps only usage page 0xF1D0 / usage 1 interfaces with a path, once each, named by product', async () => {
    const api: HidApi = {
      devicesAsync: async () => [
        { vendorId: 0x1050, productId: 0x0407, path: '/dev/hidraw1', usagePage: 0xf1d0, usage: 1, manufacturer: 'Yubico', product: 'YubiKey OTP+FIDO+CCID' },
        { vendorId: 0x1050, productId: 0x0407, path: '/dev/hidraw0', usagePage: 0x01, usage: 6, product: 'keyboard' },
        { vendorId: 0x1050, productId: 0x0407, path: '/dev/hidraw1', usagePage: 0xf1d0, usage: 1 },
        { vendorId: 0x20a0, productId: 0x42b1, path: '/dev/hidraw4', usagePage: 0xf1d0, usage: 1 },
        { vendorId: 0x20a0, productId: 0x42b1, path: '/dev/hidraw5', usagePage: 0xf1d0, usage: 2 },
        { vendorId: 0x20a0, productId: 0x42b1, usagePage: 0xf1d0, usage: 1 },
      ],
      open: async () => new FakeHid(),
    };
    assert.deepEqual(await discoverFidoHid(api), [
      { path: '/dev/hidraw1', name: 'Yubico YubiKey OTP+FIDO+CCID', vendorId: 0x1050, productId: 0x0407 },
      { path: '/dev/hidraw4', name: 'HID 20a0:42b1', vendorId: 0x20a0, productId: 0x42b1 },
    ]);
  });
});

describe('NodeHidDevice', () => {
  it('writes 65 bytes with a leading 0x00 report id and reads 64-byte reports', async () => {
    const hid = new FakeHid();
    const device = new NodeHidDevice(hid, 'fake', { pollMs: 20 });
    const report = new Uint8Array(64).map((_, i) => i + 1);
    await device.write(report);
    assert.equal(hid.writes[0]?.length, 65);
    assert.equal(hid.writes[0]?.[0], 0);
    assert.deepEqual(new Uint8Array(hid.writes[0]?.subarray(1) as Buffer), report);
    hid.inbox.push(Buffer.from(report));
    assert.deepEqual(await device.read(), report);
    hid.inbox.push(Buffer.concat([Buffer.from([0]), Buffer.from(report)])); // a platform that keeps the report id
    assert.deepEqual(await device.read(), report);
    await assert.rejects(device.write(new Uint8Array(10)), RangeError);
  });

  it('polls with a read timeout so an abort is honoured, and keeps a report that raced the abort', async () => {
    const hid = new FakeHid();
    const device = new NodeHidDevice(hid, 'fake', { pollMs: 20 });
    const controller = new AbortController();
    const pending = device.read(controller.signal);
    await new Promise((r) => setTimeout(r, 30));
    controller.abort();
    await assert.rejects(pending, { name: 'AbortError' });
    assert.ok(hid.readCalls.length >= 2);
    assert.ok(hid.readCalls.every((t) => t === 20));
    hid.inbox.push(Buffer.alloc(64, 5));
    assert.deepEqual(await device.read(), new Uint8Array(64).fill(5));
  });

  it('a device removed mid-read or mid-write is fido2.unplugged, and stays so', async () => {
    const hid = new FakeHid();
    const device = new NodeHidDevice(hid, 'YubiKey', { pollMs: 10 });
    const pending = device.read();
    setTimeout(() => {
      hid.gone = true;
    }, 15);
    const error = await rejectsWith(pending, 'fido2.unplugged', 'authenticator');
    assert.match(error.message, /YubiKey/);
    assert.match(String((error.cause as Error).message), /could not read/);
    await rejectsWith(device.write(new Uint8Array(64)), 'fido2.unplugged');
    const other = new NodeHidDevice(Object.assign(new FakeHid(), { gone: true }), 'k');
    await rejectsWith(other.write(new Uint8Array(64)), 'fido2.unplugged');
  });

  it('close stops the read loop and closes the handle once, even if already removed', async () => {
    const hid = new FakeHid();
    const device = new NodeHidDevice(hid, 'fake', { pollMs: 10 });
    const pending = device.read();
    await device.close();
    await rejectsWith(pending, 'fido2.unplugged');
    assert.equal(hid.closed, true);
    await device.close();
  });

  it('an open failure (e.g. permissions) is fido2.open-failed with a udev hint', async () => {
    const api: HidApi = {
      devicesAsync: async () => [],
      open: async () => {
        throw new Error('cannot open device with path /dev/hidraw3');
      },
    };
    const error = await rejectsWith(openHidDevice(api, '/dev/hidraw3', 'key'), 'fido2.open-failed', 'authenticator');
    assert.match(error.hint, /udev/);
  });

  it('carries a whole CTAPHID exchange (INIT + CBOR) through the adapter', async () => {
    const hid = new FakeHid();
    hid.onWrite = (data, h) => {
      const packet = decodePacket(new Uint8Array(data.subarray(1)));
      if (packet.kind !== 'init') return;
      const answer =
        packet.cmd === CTAPHID.INIT
          ? encodeMessage(BROADCAST_CID, CTAPHID.INIT, initAnswer(packet.data.subarray(0, 8), 0x42, 0x04))
          : [...encodeMessage(0x42, CTAPHID.KEEPALIVE, new Uint8Array([1])), ...encodeMessage(0x42, CTAPHID.CBOR, new Uint8Array(100).fill(0x33))];
      for (const r of answer) h.inbox.push(Buffer.from(r));
    };
    const channel = await CtapHidChannel.open(new NodeHidDevice(hid, 'fake', { pollMs: 5 }));
    assert.equal(channel.cid, 0x42);
    const keepalives: number[] = [];
    const answer = await channel.cbor(new Uint8Array([4]), { onKeepalive: (s) => keepalives.push(s) });
    assert.deepEqual(answer, new Uint8Array(100).fill(0x33));
    assert.deepEqual(keepalives, [1]);
    assert.ok(hid.writes.every((w) => w.length === 65 && w[0] === 0));
  });
});
