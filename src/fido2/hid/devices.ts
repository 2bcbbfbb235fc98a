/**
 * Which authenticators to talk to (`TNG_FIDO2_DEVICE`): nothing → every FIDO HID device found;
 * `unix:PATH` → a stream socket carrying raw reports; a hidraw path → that device; a comma-separated
 * list of these → each of them (a primary and a backup key, say).
 */
import { access } from 'node:fs/promises';
import { TngError, usageError } from '../../errors.ts';
import { type HidApi, discoverFidoHid, loadHidApi, openHidDevice } from './nodehid.ts';
import type { ReportDevice } from './transport.ts';
import { openUnixDevice } from './unix.ts';

export type DeviceSpecEntry = { kind: 'unix'; path: string } | { kind: 'hid'; path: string };

export interface OpenedDevice {
  /** A human-readable name (HID product string, or the spec entry). */
  name: string;
  /** The spec entry it came from: `unix:PATH` or the HID path. */
  path: string;
  device: ReportDevice;
}

export interface DeviceDeps {
  loadHid?: () => Promise<HidApi>;
  openUnix?: (path: string, options: { signal?: AbortSignal }) => Promise<ReportDevice>;
  platform?: NodeJS.Platform;
  /** Whether a device node exists (explicit hidraw paths): a missing one is "not found", not an error. */
  exists?: (path: string) => Promise<boolean>;
}

const HINT = 'Set TNG_FIDO2_DEVICE to unix:PATH, a hidraw path such as /dev/hidraw0, or a comma-separated list of these.';

/** Parses a non-empty spec; malformed entries are usage errors (exit 2). */
export function parseDeviceSpec(spec: string, platform: NodeJS.Platform = process.platform): DeviceSpecEntry[] {
  const entries = spec.split(',').map((s) => s.trim());
  return entries.map((entry): DeviceSpecEntry => {
    if (entry === '') throw usageError('fido2.bad-device-spec', `TNG_FIDO2_DEVICE has an empty entry: "${spec}".`, HINT);
    if (entry.startsWith('unix:')) {
      const path = entry.slice('unix:'.length);
      if (path === '') throw usageError('fido2.bad-device-spec', 'TNG_FIDO2_DEVICE: `unix:` needs a socket path.', HINT);
      return { kind: 'unix', path };
    }
    if (platform === 'linux' && !entry.startsWith('/')) {
      throw usageError('fido2.bad-device-spec', `TNG_FIDO2_DEVICE: "${entry}" is neither unix:PATH nor a device path.`, HINT);
    }
    return { kind: 'hid', path: entry };
  });
}

async function defaultExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/**
 * Opens the devices named by `spec` (or all FIDO HID devices). Returns an empty list when none is
 * present; throws usage errors for a bad spec, `fido2.hid-unavailable` when node-hid cannot load, and
 * the first open failure when devices exist but none could be opened.
 */
export async function openDevices(
  spec: string | undefined,
  options: { signal?: AbortSignal; deps?: DeviceDeps } = {},
): Promise<OpenedDevice[]> {
  const deps = options.deps ?? {};
  const platform = deps.platform ?? process.platform;
  const signal = options.signal;
  const openUnix = deps.openUnix ?? ((path, o) => openUnixDevice(path, o));
  const exists = deps.exists ?? defaultExists;
  let hid: HidApi | undefined;
  const hidApi = async () => (hid ??= await (deps.loadHid ?? (() => loadHidApi()))());

  const trimmed = spec?.trim();
  let targets: { entry: DeviceSpecEntry; name: string; explicit: boolean }[];
  if (!trimmed) {
    const found = await discoverFidoHid(await hidApi());
    targets = found.map((d) => ({ entry: { kind: 'hid', path: d.path }, name: d.name, explicit: false }));
  } else {
    const entries = parseDeviceSpec(trimmed, platform);
    const unique = new Map(entries.map((e) => [`${e.kind}:${e.path}`, e]));
    targets = [...unique.values()].map((entry) => ({
      entry,
      name: entry.kind === 'unix' ? `unix:${entry.path}` : entry.path,
      explicit: true,
    }));
    if (targets.some((t) => t.entry.kind === 'hid')) {
      // Name explicit HID paths by their product string when discovery knows them.
      try {
        const known = new Map((await discoverFidoHid(await hidApi())).map((d) => [d.path, d.name]));
        for (const t of targets) if (t.entry.kind === 'hid') t.name = known.get(t.entry.path) ?? t.name;
      } catch (error) {
        if (error instanceof TngError && error.code === 'fido2.hid-unavailable') throw error;
      }
    }
  }

  const opened: OpenedDevice[] = [];
  const failures: TngError[] = [];
  await Promise.all(
    targets.map(async ({ entry, name, explicit }) => {
      try {
        if (entry.kind === 'unix') {
          const device = await openUnix(entry.path, signal ? { signal } : {});
          opened.push({ name, path: `unix:${entry.path}`, device });
        } else {
          if (explicit && platform === 'linux' && !(await exists(entry.path))) return;
          const device = await openHidDevice(await hidApi(), entry.path, name);
          opened.push({ name, path: entry.path, device });
        }
      } catch (error) {
        if (error instanceof TngError) {
          if (error.code !== 'fido2.none-found') failures.push(error);
          if (error.kind === 'interrupted') failures.unshift(error);
        } else failures.push(new TngError('authenticator', 'fido2.open-failed', `Cannot open ${name}.`, { hint: 'Reinsert the key and try again.', cause: error }));
      }
    }),
  );
  if (opened.length === 0 && failures.length > 0) throw failures[0];
  const interrupted = failures.find((f) => f.kind === 'interrupted');
  if (interrupted) {
    await Promise.all(opened.map((o) => o.device.close().catch(() => undefined)));
    throw interrupted;
  }
  // Keep the spec's order (Promise.all finished in any order).
  const order = targets.map((t) => (t.entry.kind === 'unix' ? `unix:${t.entry.path}` : t.entry.path));
  return opened.sort((a, b) => order.indexOf(a.path) - order.indexOf(b.path));
}
