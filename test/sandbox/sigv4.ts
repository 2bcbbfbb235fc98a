// SigV4 verification shared by the sandbox's AWS endpoints (STS, Lambda, SQS, SNS): the signature is
// recomputed with AWS's own signer (@smithy/signature-v4) from the request as received and the secret of the
// credential in the registry, and compared in constant time. The checks come in the order AWS reports them:
// a missing or malformed signature, the credential scope and the time, the access key and session token,
// and only then the signature itself. Each service renders the resulting AwsSandboxError in its own protocol.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialRecord, AwsCredentialRegistry } from './vault/backends/aws.ts';

/** How far X-Amz-Date may be from the server's time. */
const MAX_SKEW_MS = 15 * 60 * 1000;

/** An error as AWS services name them (STS's codes; other services map them to their own names). */
export class AwsSandboxError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly type: 'Sender' | 'Receiver' = 'Sender',
  ) {
    super(message);
  }
}

const invalidToken = (): AwsSandboxError => new AwsSandboxError(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
const incomplete = (message: string): AwsSandboxError => new AwsSandboxError(400, 'IncompleteSignature', message);
const mismatch = (message: string): AwsSandboxError => new AwsSandboxError(403, 'SignatureDoesNotMatch', message);

export function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/** "20250601T120000Z" → Date, or undefined when malformed. */
function parseAmzDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return Number.isNaN(date.getTime()) ? undefined : date;
}

const amzDate = (ms: number): string => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');

export interface ParsedAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  terminator: string;
  signedHeaders: string[];
  signature: string;
}

export function parseAuthorization(value: string): ParsedAuthorization {
  const space = value.indexOf(' ');
  const algorithm = space < 0 ? value : value.slice(0, space);
  if (algorithm !== 'AWS4-HMAC-SHA256') throw incomplete(`Unsupported AWS 'algorithm': '${algorithm}'`);
  const fields = new Map<string, string>();
  for (const part of value.slice(space + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const missing = ['Credential', 'Signature', 'SignedHeaders'].filter((f) => !fields.get(f));
  if (missing.length > 0) {
    throw incomplete(`${missing.map((f) => `Authorization header requires '${f}' parameter.`).join(' ')} Authorization=${value}`);
  }
  const scope = (fields.get('Credential') ?? '').split('/');
  if (scope.length !== 5 || scope.some((s) => s === '')) {
    throw incomplete(`Credential should be scoped to a valid region, not '${scope[2] ?? ''}'. `);
  }
  const [accessKeyId, date, region, service, terminator] = scope as [string, string, string, string, string];
  return {
    accessKeyId,
    date,
    region,
    service,
    terminator,
    signedHeaders: (fields.get('SignedHeaders') ?? '').split(';').filter((h) => h !== ''),
    signature: fields.get('Signature') ?? '',
  };
}

/** Constant-time comparison of two strings (false for different lengths without comparing). */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

async function sha256Hex(data: Uint8Array): Promise<string> {
  const hash = new Sha256();
  hash.update(data);
  return Buffer.from(await hash.digest()).toString('hex');
}

type SignableRequest = Parameters<SignatureV4['presign']>[0];

export interface Verified {
  record: AwsCredentialRecord;
  region: string;
}

/**
 * Checks the request's SigV4 signature for `service` against the registry; returns the credential it was
 * made with and the region of its scope. `onKey` learns the access key id as soon as it is known (for logs).
 */
export async function verifySigV4(
  registry: Pick<AwsCredentialRegistry, 'lookup'>,
  req: IncomingMessage,
  url: URL,
  body: Buffer,
  service: string,
  onKey: (id: string) => void = () => undefined,
): Promise<Verified> {
  const authorization = header(req, 'authorization');
  if (!authorization) {
    if (url.searchParams.has('X-Amz-Signature') || url.searchParams.has('X-Amz-Credential')) {
      throw incomplete('The sandbox accepts only the Authorization header, not presigned URLs.');
    }
    throw new AwsSandboxError(403, 'MissingAuthenticationToken', 'Request is missing Authentication Token');
  }
  const auth = parseAuthorization(authorization);
  onKey(auth.accessKeyId);

  const dateHeader = header(req, 'x-amz-date');
  if (!dateHeader) throw incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  const signingDate = parseAmzDate(dateHeader);
  if (!signingDate) throw incomplete(`Date must be in ISO-8601 'basic format'. Got '${dateHeader}'.`);
  if (auth.service !== service) throw mismatch(`Credential should be scoped to correct service: '${service}'. `);
  if (auth.terminator !== 'aws4_request') throw mismatch(`Credential should be scoped with a valid terminator: 'aws4_request', not '${auth.terminator}'. `);
  if (auth.date !== dateHeader.slice(0, 8)) {
    throw mismatch(`Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.date}' != '${dateHeader.slice(0, 8)}', from '${dateHeader}'.`);
  }
  if (!auth.signedHeaders.includes('host')) throw mismatch("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  const now = Date.now();
  if (signingDate.getTime() < now - MAX_SKEW_MS) {
    throw mismatch(`Signature expired: ${dateHeader} is now earlier than ${amzDate(now - MAX_SKEW_MS)} (${amzDate(now)} - 15 min.)`);
  }
  if (signingDate.getTime() > now + MAX_SKEW_MS) {
    throw mismatch(`Signature not yet current: ${dateHeader} is still later than ${amzDate(now + MAX_SKEW_MS)} (${amzDate(now)} + 15 min.)`);
  }

  const record = registry.lookup(auth.accessKeyId);
  if (!record) throw invalidToken();
  const token = header(req, 'x-amz-security-token');
  if (record.sessionToken !== undefined) {
    // Temporary credentials are only valid together with their session token.
    if (token === undefined || !sameSecret(token, record.sessionToken)) throw invalidToken();
    if (now >= record.expiresAt) throw new AwsSandboxError(403, 'ExpiredToken', 'The security token included in the request is expired');
  } else {
    if (token !== undefined) throw invalidToken();
    // An IAM user's key is deleted with the user when Vault's lease ends.
    if (now >= record.expiresAt) throw invalidToken();
  }

  // Recompute the signature over exactly the headers the client signed.
  const headers: Record<string, string> = {};
  for (const name of auth.signedHeaders) {
    const value = header(req, name);
    if (value === undefined) throw mismatch(`The request signature we calculated does not match the signature you provided. Signed header '${name}' is missing.`);
    headers[name] = value;
  }
  const signer = new SignatureV4({
    service,
    region: auth.region,
    // The session token is taken from the request's own header (when signed), not added by the signer.
    credentials: { accessKeyId: record.accessKeyId, secretAccessKey: record.secretAccessKey },
    sha256: Sha256,
    applyChecksum: false,
  });
  const query: Record<string, string | string[]> = {};
  for (const key of new Set(url.searchParams.keys())) {
    const values = url.searchParams.getAll(key);
    query[key] = values.length === 1 ? (values[0] ?? '') : values;
  }
  const request: SignableRequest = {
    method: (req.method ?? 'GET').toUpperCase(),
    protocol: 'http:',
    hostname: (header(req, 'host') ?? '').replace(/:\d+$/, ''),
    // As received, still percent-encoded: the signer encodes each segment once more, as clients did.
    path: url.pathname,
    query,
    headers,
    body: new Uint8Array(body),
  };
  const signed = await signer.sign(request, {
    signingDate,
    signingRegion: auth.region,
    signingService: service,
    signableHeaders: new Set(auth.signedHeaders),
  });
  const expected = /Signature=([0-9a-f]+)$/.exec(String(signed.headers.authorization ?? ''))?.[1] ?? '';
  const payloadClaim = headers['x-amz-content-sha256'];
  const payloadOk = payloadClaim === undefined || payloadClaim === 'UNSIGNED-PAYLOAD' || payloadClaim === (await sha256Hex(body));
  if (!sameSecret(expected, auth.signature.toLowerCase()) || !payloadOk) {
    throw mismatch(
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    );
  }
  return { record, region: auth.region };
}

const MAX_BODY_BYTES = 256 * 1024;

/** The request body, or undefined when it is larger than any of the sandbox's APIs accept. */
export async function readAwsBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export const xmlEscape = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
