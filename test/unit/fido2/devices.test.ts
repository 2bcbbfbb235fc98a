import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TngError } from '../../../src/errors.ts';
import { fidoError } from '../../../src/fido2/errors.ts';
import { type DeviceDeps, openDevices, parseDeviceSpec } from '../../../src/fido2/hid/devices.ts';
import type { HidApi, HidHandle } from '../../../src/fido2/hid/nodehid.ts';
import type { ReportDevice } from '../../../src/fido2/hid/transport.ts';
import { ScriptedDevice, rejectsWith, throwsWith } from './helpers.ts';

const handle = (): HidHandle => ({
  write: async (v) => (Buffer.isBuffer(v) ? v.length : v.length),
  read: async () => Buffer.alloc(0),
  close: async () => undefined,
});

function hidApi(paths: string[], opened: string[] = []): HidApi {
  return {
    devicesAsync: async () =>
      paths.map((path, i) => ({ vendorId: 0x1050, productId: 0x400 + i, path, usagePage: 0xf1d0, usage: 1, product: `Key ${i}` })),
    open: async (path) => {
      opened.push(path);
      return handle();
    },
  };
}

describe('TNG_FIDO2_DEVICE parsing', () => {
  it('parses unix sockets, hidraw paths and comma-separated lists', () => {
    assert.deepEqual(parseDeviceSpec('unix:/tmp/a.sock', 'linux'), [{ kind: 'unix', path: '/tmp/a.sock' }]);
    assert.deepEqual(parseDeviceSpec('/dev/hidraw3', 'linux'), [{ kind: 'hid', path: '/dev/hidraw3' }]);
    assert.deepEqual(parseDeviceSpec(' /dev/hidraw1 , unix:rel.sock ', 'linux'), [
      { kind: 'hid', path: '/dev/hidraw1' },
      { kind: 'unix', path: 'rel.sock' },
    ]);
    assert.deepEqual(parseDeviceSpec('DevSrvsID:4295025731', 'darwin'), [{ kind: 'hid', path: 'DevSrvsID:4295025731' }]);
  });

  it('refuses empty entries, an empty unix path and non-paths on Linux as usage errors (exit 2)', () => {
    for (const spec of ['unix:', '/dev/hidraw0,', 'hidraw0', 'tcp:1.2.3.4']) {
      const error = throwsWith(() => parseDeviceSpec(spec, 'linux'), 'fido2.bad-device-spec');
      assert.equal(error.kind, 'usage');
      assert.equal(error.exitCode, 2);
    }
  });
});

describe('openDevices', () => {
  it('discovers every FIDO HID device when no spec is given', async () => {
    const opened: string[] = [];
    const devices = await openDevices(undefined, { deps: { loadHid: async () => hidApi(['/dev/hidraw2', '/dev/hidraw5'], opened) } });
    assert.deepEqual(devices.map((d) => [d.name, d.path]), [
      ['Key 0', '/dev/hidraw2'],
      ['Key 1', '/dev/hidraw5'],
    ]);
    assert.deepEqual(opened.sort(), ['/dev/hidraw2', '/dev/hidraw5']);
    const none = await openDevices('  ', { deps: { loadHid: async () => hidApi([]) } });
    assert.deepEqual(none, []);
  });

  it('opens a unix socket without loading node-hid', async () => {
    const unix = new ScriptedDevice();
    const deps: DeviceDeps = {
      loadHid: async () => {
        throw new Error('node-hid must not be loaded for unix: devices');
      },
      openUnix: async (path) => {
        assert.equal(path, '/run/key.sock');
        return unix;
      },
    };
    const [device, ...rest] = await openDevices('unix:/run/key.sock', { deps });
    assert.equal(rest.length, 0);
    assert.equal(device?.device, unix);
    assert.equal(device?.name, 'unix:/run/key.sock');
  });

  it('opens each entry of a list, skipping missing ones, names HID paths by product, keeps the order', async () => {
    const deps: DeviceDeps = {
      platform: 'linux',
      loadHid: async () => hidApi(['/dev/hidraw7']),
      exists: async (path) => path !== '/dev/hidraw9',
      openUnix: async (path): Promise<ReportDevice> => {
        if (path === 'gone.sock') throw fidoError('fido2.none-found', 'nothing there');
        return new ScriptedDevice();
      },
    };
    const devices = await openDevices('unix:a.sock,/dev/hidraw9,/dev/hidraw7,unix:gone.sock,unix:a.sock', { deps });
    assert.deepEqual(devices.map((d) => [d.name, d.path]), [
      ['unix:a.sock', 'unix:a.sock'],
      ['Key 0', '/dev/hidraw7'],
    ]);
  });

  it('returns nothing when every listed device is absent', async () => {
    const deps: DeviceDeps = { platform: 'linux', loadHid: async () => hidApi([]), exists: async () => false };
    assert.deepEqual(await openDevices('/dev/hidraw0,/dev/hidraw1', { deps }), []);
  });

  it('throws the open failure when devices exist but none could be opened', async () => {
    const deps: DeviceDeps = {
      loadHid: async () => ({
        devicesAsync: async () => [{ vendorId: 1, productId: 1, path: '/dev/hidraw0', usagePage: 0xf1d0, usage: 1 }],
        open: async () => {
          throw new Error('permission denied');
        },
      }),
    };
    await rejectsWith(openDevices(undefined, { deps }), 'fido2.open-failed', 'authenticator');
  });

  it('propagates fido2.hid-unavailable and usage errors', async () => {
    const deps: DeviceDeps = {
      loadHid: async () => {
        throw fidoError('fido2.hid-unavailable', 'no libusb');
      },
    };
    await rejectsWith(openDevices(undefined, { deps }), 'fido2.hid-unavailable');
    const error = await rejectsWith(openDevices('nonsense', { deps: { ...deps, platform: 'linux' } }), 'fido2.bad-device-spec');
    assert.ok(error instanceof TngError && error.kind === 'usage');
  });
});
