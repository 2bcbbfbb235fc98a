// The sandbox STS: AWS Security Token Service's GetCallerIdentity for credentials the sandbox Vault's AWS
// secrets engine issued (vault/backends/aws.ts). A request is answered only when its SigV4 signature is
// valid: the signature is recomputed with AWS's own signer (@smithy/signature-v4) from the request as
// received and the secret in the shared registry, and compared in constant time.
//
//   const vault = await startVaultSandbox({ aws: { roles: { deploy: {...} } } });
//   const sts = await startStsSandbox({ registry: vault.awsCredentials });
//   // AWS_ENDPOINT_URL_STS=sts.url, or `aws --endpoint-url sts.url sts get-caller-identity`
//   await sts.close();
//
// Protocol: AWS Query (what @aws-sdk/client-sts v3 and the AWS CLI send): POST / with a form body
// `Action=GetCallerIdentity&Version=2011-06-15` (GET with the same query parameters works too). The answer
// is STS's XML, or its JSON rendering when the request prefers `Accept: application/json`.
// Authentication: the Authorization header only (presigned URLs are refused with IncompleteSignature).
import { timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialRecord, AwsCredentialRegistry } from './vault/backends/aws.ts';
import { uuid } from './vault/ids.ts';

export interface StsSandboxOptions {
  /** Where the credentials come from: the Vault sandbox's `awsCredentials`. */
  registry: Pick<AwsCredentialRegistry, 'lookup'>;
  /** Default: a random free port on 127.0.0.1. */
  port?: number;
}

export interface StsRequestRecord {
  /** The `Action` parameter ("" when absent). */
  action: string;
  /** From the Authorization header's credential scope, when there was one. */
  accessKeyId?: string;
  status: number;
  /** The error code answered, e.g. "SignatureDoesNotMatch". */
  code?: string;
  method: string;
  contentType?: string;
  userAgent?: string;
}

export interface StsSandbox {
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  /** Every request seen, in order. */
  requests(): StsRequestRecord[];
  close(): Promise<void>;
}

const XMLNS = 'https://sts.amazonaws.com/doc/2011-06-15/';
const VERSION = '2011-06-15';
const MAX_BODY_BYTES = 64 * 1024;
/** How far X-Amz-Date may be from the server's time. */
const MAX_SKEW_MS = 15 * 60 * 1000;

class StsError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly type: 'Sender' | 'Receiver' = 'Sender',
  ) {
    super(message);
  }
}

const invalidToken = (): StsError => new StsError(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
const incomplete = (message: string): StsError => new StsError(400, 'IncompleteSignature', message);
const mismatch = (message: string): StsError => new StsError(403, 'SignatureDoesNotMatch', message);

const xmlEscape = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

function header(req: IncomingMessage, name: string): string | undefined {
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

interface ParsedAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  terminator: string;
  signedHeaders: string[];
  signature: string;
}

function parseAuthorization(value: string): ParsedAuthorization {
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
function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

type SignableRequest = Parameters<SignatureV4['presign']>[0];

/**
 * Checks the request's SigV4 signature against the registry; returns the credential it was made with.
 * The order of the checks follows what AWS reports first: a missing or malformed signature, the credential
 * scope and the time, the access key and session token, and only then the signature itself.
 */
async function authenticate(
  registry: StsSandboxOptions['registry'],
  req: IncomingMessage,
  url: URL,
  body: Buffer,
  onKey: (id: string) => void,
): Promise<AwsCredentialRecord> {
  const authorization = header(req, 'authorization');
  if (!authorization) {
    if (url.searchParams.has('X-Amz-Signature') || url.searchParams.has('X-Amz-Credential')) {
      throw incomplete('The sandbox STS accepts only the Authorization header, not presigned URLs.');
    }
    throw new StsError(403, 'MissingAuthenticationToken', 'Request is missing Authentication Token');
  }
  const auth = parseAuthorization(authorization);
  onKey(auth.accessKeyId);

  const dateHeader = header(req, 'x-amz-date');
  if (!dateHeader) throw incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  const signingDate = parseAmzDate(dateHeader);
  if (!signingDate) throw incomplete(`Date must be in ISO-8601 'basic format'. Got '${dateHeader}'.`);
  if (auth.service !== 'sts') throw mismatch(`Credential should be scoped to correct service: 'sts'. `);
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
    if (now >= record.expiresAt) throw new StsError(403, 'ExpiredToken', 'The security token included in the request is expired');
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
    service: 'sts',
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
    path: url.pathname,
    query,
    headers,
    body: new Uint8Array(body),
  };
  const signed = await signer.sign(request, {
    signingDate,
    signingRegion: auth.region,
    signingService: 'sts',
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
  return record;
}

async function sha256Hex(data: Uint8Array): Promise<string> {
  const hash = new Sha256();
  hash.update(data);
  return Buffer.from(await hash.digest()).toString('hex');
}

function wantsJson(req: IncomingMessage): boolean {
  const accept = header(req, 'accept') ?? '';
  return /application\/json/i.test(accept) && !/xml/i.test(accept);
}

function send(res: ServerResponse, req: IncomingMessage, status: number, requestId: string, xml: string, json: unknown): void {
  res.statusCode = status;
  res.setHeader('x-amzn-RequestId', requestId);
  if (wantsJson(req)) {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify(json));
  } else {
    res.setHeader('Content-Type', 'text/xml');
    res.end(xml);
  }
}

function sendError(res: ServerResponse, req: IncomingMessage, err: StsError, requestId: string): void {
  const xml =
    `<ErrorResponse xmlns="${XMLNS}">\n  <Error>\n    <Type>${err.type}</Type>\n    <Code>${xmlEscape(err.code)}</Code>\n` +
    `    <Message>${xmlEscape(err.message)}</Message>\n  </Error>\n  <RequestId>${requestId}</RequestId>\n</ErrorResponse>\n`;
  send(res, req, err.status, requestId, xml, { Error: { Code: err.code, Message: err.message, Type: err.type }, RequestId: requestId });
}

function sendIdentity(res: ServerResponse, req: IncomingMessage, record: AwsCredentialRecord, requestId: string): void {
  const xml =
    `<GetCallerIdentityResponse xmlns="${XMLNS}">\n  <GetCallerIdentityResult>\n` +
    `    <Arn>${xmlEscape(record.arn)}</Arn>\n    <UserId>${xmlEscape(record.userId)}</UserId>\n    <Account>${record.account}</Account>\n` +
    `  </GetCallerIdentityResult>\n  <ResponseMetadata>\n    <RequestId>${requestId}</RequestId>\n  </ResponseMetadata>\n</GetCallerIdentityResponse>\n`;
  const json = {
    GetCallerIdentityResponse: {
      GetCallerIdentityResult: { Account: record.account, Arn: record.arn, UserId: record.userId },
      ResponseMetadata: { RequestId: requestId },
    },
  };
  send(res, req, 200, requestId, xml, json);
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function startStsSandbox(options: StsSandboxOptions): Promise<StsSandbox> {
  const log: StsRequestRecord[] = [];

  const handle = async (req: IncomingMessage, res: ServerResponse, requestId: string, onEntry: (e: StsRequestRecord) => void): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://sandbox.invalid');
    const method = (req.method ?? 'GET').toUpperCase();
    const contentType = header(req, 'content-type');
    const userAgent = header(req, 'user-agent');
    const entry: StsRequestRecord = {
      action: '',
      status: 0,
      method,
      ...(contentType !== undefined ? { contentType } : {}),
      ...(userAgent !== undefined ? { userAgent } : {}),
    };
    log.push(entry);
    onEntry(entry);
    const fail = (err: StsError): void => {
      entry.status = err.status;
      entry.code = err.code;
      sendError(res, req, err, requestId);
    };

    const body = await readBody(req);
    if (body === undefined) {
      fail(new StsError(413, 'RequestEntityTooLarge', 'Request body too large'));
      return;
    }
    // Query protocol: the parameters are the query string plus, for a form POST, the body.
    const params = new URLSearchParams(url.search);
    if (method === 'POST' && (contentType === undefined || /^application\/x-www-form-urlencoded/i.test(contentType))) {
      for (const [k, v] of new URLSearchParams(body.toString('utf8'))) params.append(k, v);
    }
    entry.action = params.get('Action') ?? '';

    let record: AwsCredentialRecord;
    try {
      record = await authenticate(options.registry, req, url, body, (id) => {
        entry.accessKeyId = id;
      });
    } catch (err) {
      if (err instanceof StsError) {
        fail(err);
        return;
      }
      throw err;
    }

    const version = params.get('Version') ?? VERSION;
    if (entry.action === '') {
      fail(new StsError(400, 'MissingAction', 'Missing Action'));
      return;
    }
    if (entry.action !== 'GetCallerIdentity' || version !== VERSION) {
      fail(new StsError(400, 'InvalidAction', `Could not find operation ${entry.action} for version ${version}`));
      return;
    }
    entry.status = 200;
    sendIdentity(res, req, record, requestId);
  };

  const server = createServer((req, res) => {
    const requestId = uuid();
    let entry: StsRequestRecord | undefined;
    handle(req, res, requestId, (e) => (entry = e)).catch((err: unknown) => {
      if (entry) {
        entry.status = 500;
        entry.code = 'InternalFailure';
      }
      if (!res.headersSent) sendError(res, req, new StsError(500, 'InternalFailure', `sandbox internal error: ${(err as Error).message}`, 'Receiver'), requestId);
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests: () => log.map((r) => ({ ...r })),
    close: () => {
      closed ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
