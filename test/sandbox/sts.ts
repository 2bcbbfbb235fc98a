// The sandbox STS: AWS Security Token Service's GetCallerIdentity for credentials the sandbox Vault's AWS
// secrets engine issued (vault/backends/aws.ts). A request is answered only when its SigV4 signature is
// valid: the signature is recomputed with AWS's own signer (@smithy/signature-v4) from the request as
// received and the secret in the shared registry, and compared in constant time (./sigv4.ts).
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
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AwsSandboxError as StsError, header, verifySigV4, xmlEscape } from './sigv4.ts';
import type { AwsCredentialRecord, AwsCredentialRegistry } from './vault/backends/aws.ts';
import { uuid } from './vault/ids.ts';
import { closerOf, listenOnLoopback } from './listen.ts';

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
  /** The Host header as received (Vault's AWS auth method replays with the client's host). */
  host?: string;
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
    const host = header(req, 'host');
    const entry: StsRequestRecord = {
      action: '',
      status: 0,
      method,
      ...(contentType !== undefined ? { contentType } : {}),
      ...(userAgent !== undefined ? { userAgent } : {}),
      ...(host !== undefined ? { host } : {}),
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
      ({ record } = await verifySigV4(options.registry, req, url, body, 'sts', (id) => {
        entry.accessKeyId = id;
      }));
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
  const port = await listenOnLoopback(server, options.port);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests: () => log.map((r) => ({ ...r })),
    close: closerOf(server),
  };
}
