/**
 * A ReportDevice over node-hid, and discovery of FIDO HID interfaces (usage page 0xF1D0, usage 0x01).
 * node-hid is loaded lazily: its native binding needs libusb-1.0 / libudev at run time, and only commands
 * that talk to a key should pay for (or fail on) that.
 */
import { TngError } from '../../errors.ts';
import { fidoError, unpluggedError } from '../errors.ts';
import { abortReason, isAbortError } from '../util.ts';
import { REPORT_SIZE } from './framing.ts';
import type { ReportDevice } from './transport.ts';

export const FIDO_USAGE_PAGE = 0xf1d0;
export const FIDO_USAGE = 0x01;

/** The fields of node-hid's `Device` that tng uses. */
export interface HidDeviceInfo {
  vendorId: number;
  productId: number;
  path?: string | undefined;
  manufacturer?: string | undefined;
  product?: string | undefined;
  serialNumber?: string | undefined;
  usagePage?: number | undefined;
  usage?: number | undefined;
}

/** The methods of node-hid's `HIDAsync` that tng uses. */
export interface HidHandle {
  write(values: number[] | Buffer): Promise<number>;
  read(timeoutMs?: number): Promise<Buffer | undefined>;
  close(): Promise<void>;
}

/** What tng needs from the node-hid module. */
export interface HidApi {
  devicesAsync(): Promise<HidDeviceInfo[]>;
  open(path: string): Promise<HidHandle>;
}

interface NodeHidModule {
  devicesAsync(): Promise<HidDeviceInfo[]>;
  HIDAsync: { open(path: string, options?: { nonExclusive?: boolean }): Promise<HidHandle> };
  setDriverType?(type: 'hidraw' | 'libusb'): void;
  getHidapiVersion?(): string;
}

function hidUnavailable(cause: unknown): TngError {
  const detail = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
  return fidoError('fido2.hid-unavailable', `USB HID access is unavailable: node-hid could not load (${detail}).`, cause);
}

/**
 * Imports node-hid and forces its native binding to load, so a missing shared library surfaces here as
 * `fido2.hid-unavailable` rather than deep inside a call. On Linux the hidraw driver is selected (usage
 * pages are only reported there).
 */
export async function loadHidApi(
  importer: () => Promise<unknown> = () => import('node-hid'),
  platform: NodeJS.Platform = process.platform,
): Promise<HidApi> {
  let mod: NodeHidModule;
  try {
    const imported = (await importer()) as { default?: unknown };
    mod = (imported.default ?? imported) as NodeHidModule;
    if (typeof mod.devicesAsync !== 'function' || typeof mod.HIDAsync?.open !== 'function') {
      throw new Error('node-hid has an unexpected shape');
    }
    if (platform === 'linux') mod.setDriverType?.('hidraw');
    // node-hid loads its binding on first use; do that now to catch a missing libusb/libudev.
    mod.getHidapiVersion?.();
  } catch (error) {
    throw hidUnavailable(error);
  }
  return {
    devicesAsync: async () => {
      try {
        return await mod.devicesAsync();
      } catch (error) {
        throw hidUnavailable(error);
      }
    },
    open: (path) => mod.HIDAsync.open(path),
  };
}

export interface FidoHidDescriptor {
  path: string;
  name: string;
  vendorId: number;
  productId: number;
  serialNumber?: string;
}

/** Lists FIDO HID interfaces (usage page 0xF1D0, usage 0x01), one per path. */
export async function discoverFidoHid(api: HidApi): Promise<FidoHidDescriptor[]> {
  const seen = new Set<string>();
  const found: FidoHidDescriptor[] = [];
  for (const info of await api.devicesAsync()) {
    if (info.usagePage !== FIDO_USAGE_PAGE || info.usage !== FIDO_USAGE || !info.path) continue;
    if (seen.has(info.path)) continue;
    seen.add(info.path);
    found.push({
      path: info.path,
      name: describeHid(info),
      vendorId: info.vendorId,
      productId: info.productId,
      ...(info.serialNumber ? { serialNumber: info.serialNumber } : {}),
    });
  }
  return found;
}

function describeHid(info: HidDeviceInfo): string {
  const product = [info.manufacturer, info.product].filter((s) => s && s.trim()).join(' ').trim();
  return product || `HID ${info.vendorId.toString(16).padStart(4, '0')}:${info.productId.toString(16).padStart(4, '0')}`;
}

export interface NodeHidDeviceOptions {
  /** Read poll interval: each native read waits at most this long, so aborts are honoured (default 100 ms). */
  pollMs?: number;
}

/** ReportDevice over a node-hid handle: writes get the 0x00 report-ID byte (65 bytes), reads are 64 bytes. */
export class NodeHidDevice implements ReportDevice {
  private readonly pending: Uint8Array[] = [];
  private failure: TngError | undefined;
  private closed = false;
  private reading: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly hid: HidHandle,
    readonly name: string,
    private readonly options: NodeHidDeviceOptions = {},
  ) {}

  async write(report: Uint8Array): Promise<void> {
    if (report.length !== REPORT_SIZE) throw new RangeError(`a report must be ${REPORT_SIZE} bytes, not ${report.length}`);
    if (this.failure) throw this.failure;
    const out = Buffer.alloc(REPORT_SIZE + 1);
    out.set(report, 1);
    let written: number;
    try {
      written = await this.hid.write(out);
    } catch (error) {
      throw this.fail(error);
    }
    if (typeof written === 'number' && written >= 0 && written < REPORT_SIZE) {
      throw this.fail(new Error(`short HID write (${written} bytes)`));
    }
  }

  read(signal?: AbortSignal): Promise<Uint8Array> {
    // One native read loop at a time; a second reader waits for the first to finish.
    const next = this.reading.then(
      () => this.readOne(signal),
      () => this.readOne(signal),
    );
    this.reading = next.catch(() => undefined);
    return next;
  }

  private async readOne(signal?: AbortSignal): Promise<Uint8Array> {
    const queued = this.pending.shift();
    if (queued) return queued;
    const pollMs = this.options.pollMs ?? 100;
    for (;;) {
      if (this.failure) throw this.failure;
      if (signal?.aborted) throw abortReason(signal);
      let data: Buffer | undefined;
      try {
        data = await this.hid.read(pollMs);
      } catch (error) {
        if (isAbortError(error) && signal?.aborted) throw error;
        throw this.fail(error);
      }
      if (!data || data.length === 0) continue;
      const report = normaliseReport(data);
      if (signal?.aborted) {
        this.pending.push(report); // keep it for the next reader
        throw abortReason(signal);
      }
      return report;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failure ??= fidoError('fido2.unplugged', `${this.name} is closed.`);
    await this.reading.catch(() => undefined);
    try {
      await this.hid.close();
    } catch {
      // already closed or removed
    }
  }

  private fail(cause: unknown): TngError {
    if (!this.failure) this.failure = cause instanceof TngError ? cause : unpluggedError(this.name, cause);
    return this.failure;
  }
}

/** A read as a 64-byte report: a leading report-ID 0 of a 65-byte read is dropped; short reads are zero-padded. */
function normaliseReport(data: Buffer): Uint8Array {
  let bytes: Uint8Array = data;
  if (bytes.length === REPORT_SIZE + 1 && bytes[0] === 0) bytes = bytes.subarray(1);
  const report = new Uint8Array(REPORT_SIZE);
  report.set(bytes.subarray(0, REPORT_SIZE));
  return report;
}

/** Opens one HID path; failures (typically permissions) are `fido2.open-failed`. */
export async function openHidDevice(api: HidApi, path: string, name: string, options: NodeHidDeviceOptions = {}): Promise<NodeHidDevice> {
  let handle: HidHandle;
  try {
    handle = await api.open(path);
  } catch (error) {
    throw fidoError('fido2.open-failed', `Cannot open the authenticator at ${path}.`, error);
  }
  return new NodeHidDevice(handle, name, options);
}
