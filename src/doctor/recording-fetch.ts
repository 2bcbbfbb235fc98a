/**
 * A fetch that notes, for every answer, when the request left, when the answer arrived (on the injected
 * clock) and the server's `Date` header — what the clock check needs — without changing the request.
 * Libraries that make their own requests (openid-client's discovery, node-vault) are handed this fetch, so
 * tng needs no other way to see their response headers.
 */
import type { Clock } from '../clock.ts';
import type { Fetch } from '../net/http.ts';
import type { Exchange } from './clock.ts';

export interface Recorded extends Exchange {
  url: string;
  status: number;
  /** The `Date` response header, when the server sent one. */
  date: string | null;
}

export interface RecordingFetch {
  fetch: Fetch;
  /** Every answered request so far, in order of arrival. */
  readonly records: readonly Recorded[];
}

export function recordingFetch(inner: Fetch, clock: Clock, signal?: AbortSignal): RecordingFetch {
  const records: Recorded[] = [];
  const fetch: Fetch = async (input, init = {}) => {
    const sentAt = clock.now();
    const combined = signal === undefined ? init.signal : init.signal ? AbortSignal.any([init.signal, signal]) : signal;
    const response = await inner(input, combined === undefined || combined === null ? init : { ...init, signal: combined });
    records.push({ url: String(input), status: response.status, date: response.headers.get('date'), sentAt, receivedAt: clock.now() });
    return response;
  };
  return { fetch, records };
}
