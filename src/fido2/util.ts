/** Small helpers shared by the FIDO2 layers: bytes, abortable sleeps. */

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** A Buffer view of the same memory (cbor-x writes Buffers as bare byte strings, Node crypto wants them). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** 16 bytes → the usual 8-4-4-4-12 lower-case UUID text. */
export function formatAaguid(aaguid: Uint8Array): string {
  const hex = toHex(aaguid);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export function isAbortError(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || (error as { code?: unknown }).code === 'ABORT_ERR');
}

/** An Error named AbortError for a fired signal (whatever its reason). */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name === 'AbortError') return reason;
  const error = new Error('The operation was aborted.', { cause: reason });
  error.name = 'AbortError';
  return error;
}

/** Waits `ms`, rejecting with an AbortError when the signal fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs `attempt` on every item at once under one abort signal (which `signal` also aborts): the first to
 * succeed wins and the rest are aborted, and every attempt has ended when this returns (a cancelled key
 * has answered its CANCEL). Without a winner, the errors in the items' order.
 */
export async function firstToSucceed<I, R>(
  items: readonly I[],
  attempt: (item: I, signal: AbortSignal) => Promise<R>,
  signal?: AbortSignal,
): Promise<{ index: number; value: R } | { errors: unknown[] }> {
  const shared = new AbortController();
  const onAbort = () => shared.abort(signal?.reason);
  if (signal?.aborted) shared.abort(signal.reason);
  else signal?.addEventListener('abort', onAbort, { once: true });
  const attempts = items.map((item, index) => attempt(item, shared.signal).then((value) => ({ index, value })));
  try {
    return await Promise.any(attempts);
  } catch (error) {
    return { errors: (error as AggregateError).errors as unknown[] };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    shared.abort();
    await Promise.allSettled(attempts);
  }
}
