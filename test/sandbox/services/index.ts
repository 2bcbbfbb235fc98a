// The sandbox's AWS Lambda, SQS and SNS endpoints, on one local port the way a single AWS_ENDPOINT_URL
// would serve them (or one port per service with `services`): each request is recognised by its protocol
// (Lambda's REST-JSON paths, SQS's `X-Amz-Target: AmazonSQS.*`, a Query `Action` with SQS's or SNS's API
// version), its SigV4 signature is verified for that service against the credential registry the Vault and
// STS sandboxes share (../sigv4.ts), and the answer is written in that service's protocol.
//
//   const aws = await startAwsServicesSandbox({ registry: vault.awsCredentials });
//   const csc = aws.lambda.putCodeSigningConfig({ policy: 'Enforce' });
//   aws.lambda.putFunction({ name: 'fn', codeSigningConfigArn: csc, ... });
//   // AWS_ENDPOINT_URL=aws.url, or `aws lambda get-function-configuration --endpoint-url aws.url`
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AwsSandboxError, header, readAwsBody, verifySigV4 } from '../sigv4.ts';
import type { AwsCredentialRegistry } from '../vault/backends/aws.ts';
import { uuid } from '../vault/ids.ts';
import { LambdaState, lambdaError } from './lambda.ts';
import { SnsState } from './sns.ts';
import { SqsState, sqsJsonError } from './sqs.ts';
import { queryParams, type ServiceAnswer, type ServiceRequest } from './wire.ts';
import { closerOf, listenOnLoopback } from '../listen.ts';

export type { CodeSigningConfigSpec, FunctionSpec, UntrustedArtifactPolicy } from './lambda.ts';
export type { QueueSpec } from './sqs.ts';
export type { TopicSpec } from './sns.ts';
export { LambdaState, SnsState, SqsState };

export type AwsService = 'lambda' | 'sqs' | 'sns';
type Protocol = 'rest-json' | 'json' | 'query';

export interface AwsServicesOptions {
  registry: Pick<AwsCredentialRegistry, 'lookup'>;
  /** Default "123456789012". */
  account?: string;
  /** The region the resources live in; requests signed for another region find nothing. Default "us-east-1". */
  region?: string;
  /** The services this endpoint serves; default all three. */
  services?: AwsService[];
  /** Default: a random free port on 127.0.0.1. */
  port?: number;
}

export interface AwsServiceRecord {
  service: AwsService | '';
  protocol: Protocol | '';
  operation: string;
  status: number;
  code?: string;
  accessKeyId?: string;
  callerArn?: string;
  userAgent?: string;
}

export interface AwsServicesSandbox {
  /** http://127.0.0.1:<port> */
  url: string;
  account: string;
  region: string;
  lambda: LambdaState;
  sqs: SqsState;
  sns: SnsState;
  /** From now on `operation` (e.g. "GetFunctionConfiguration", "GetQueueAttributes") is refused with AccessDenied; `allow` undoes it. */
  deny(operation: string): void;
  allow(operation: string): void;
  requests(): AwsServiceRecord[];
  close(): Promise<void>;
}

const QUERY_VERSIONS: Record<string, AwsService> = { '2012-11-05': 'sqs', '2010-03-31': 'sns' };

/** Which service and protocol a request speaks, from its shape alone (before any signature check). */
function classify(req: IncomingMessage, url: URL, body: Buffer): { service: AwsService; protocol: Protocol } | undefined {
  if ((header(req, 'x-amz-target') ?? '').startsWith('AmazonSQS.')) return { service: 'sqs', protocol: 'json' };
  if (/^\/\d{4}-\d{2}-\d{2}\//.test(url.pathname)) return { service: 'lambda', protocol: 'rest-json' };
  const params = queryParams(url, body, header(req, 'content-type'));
  const service = QUERY_VERSIONS[params.get('Version') ?? ''];
  return params.has('Action') && service ? { service, protocol: 'query' } : undefined;
}

function denyError(service: AwsService, operation: string, callerArn: string): AwsSandboxError {
  const message = `User: ${callerArn} is not authorized to perform: ${service}:${operation} because no identity-based policy allows the ${service}:${operation} action`;
  return new AwsSandboxError(403, service === 'lambda' ? 'AccessDeniedException' : service === 'sns' ? 'AuthorizationError' : 'AccessDenied', message);
}

export async function startAwsServicesSandbox(options: AwsServicesOptions): Promise<AwsServicesSandbox> {
  const account = options.account ?? '123456789012';
  const region = options.region ?? 'us-east-1';
  const enabled = new Set<AwsService>(options.services ?? ['lambda', 'sqs', 'sns']);
  const lambda = new LambdaState(account, region);
  const sqs = new SqsState(account, region);
  const sns = new SnsState(account, region);
  const denied = new Set<string>();
  const log: AwsServiceRecord[] = [];

  const errorAnswer = (service: AwsService, protocol: Protocol, error: AwsSandboxError, requestId: string, operation: string): ServiceAnswer => {
    if (service === 'lambda') return lambdaError(error, operation);
    if (protocol === 'json') return sqsJsonError(error, operation);
    return (service === 'sqs' ? sqs : sns).queryError(error, requestId, operation);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, record: AwsServiceRecord): Promise<void> => {
    const requestId = uuid();
    const url = new URL(req.url ?? '/', 'http://sandbox.invalid');
    const finish = (answer: ServiceAnswer): void => {
      record.status = answer.status;
      record.operation = answer.operation;
      if (answer.code !== undefined) record.code = answer.code;
      res.statusCode = answer.status;
      res.setHeader('x-amzn-RequestId', requestId);
      for (const [k, v] of Object.entries(answer.headers ?? {})) res.setHeader(k, v);
      res.end(answer.body ?? '');
    };
    const body = await readAwsBody(req);
    if (body === undefined) {
      finish({ status: 413, operation: '', headers: { 'Content-Type': 'application/json' }, body: '{"message":"Request body too large"}' });
      return;
    }
    const kind = classify(req, url, body);
    if (!kind || !enabled.has(kind.service)) {
      const what = kind ? `${kind.service} requests` : 'this request';
      finish({ status: 404, operation: '', code: 'UnknownOperationException', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ message: `This sandbox endpoint does not serve ${what}.` }) });
      return;
    }
    record.service = kind.service;
    record.protocol = kind.protocol;
    const operationHint = kind.protocol === 'json' ? (header(req, 'x-amz-target') ?? '').replace(/^AmazonSQS\./, '') : kind.protocol === 'query' ? (queryParams(url, body, header(req, 'content-type')).get('Action') ?? '') : '';
    let verified;
    try {
      verified = await verifySigV4(options.registry, req, url, body, kind.service, (id) => {
        record.accessKeyId = id;
      });
    } catch (error) {
      if (error instanceof AwsSandboxError) {
        finish(errorAnswer(kind.service, kind.protocol, error, requestId, operationHint));
        return;
      }
      throw error;
    }
    record.callerArn = verified.record.arn;
    const host = header(req, 'host') ?? `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const request: ServiceRequest = { req, url, body, region: verified.region, callerArn: verified.record.arn, requestId, origin: `http://${host}` };
    if (kind.service === 'lambda') {
      finish(
        lambda.handle(request, (operation) => {
          if (denied.has(operation)) throw denyError('lambda', operation, verified.record.arn);
        }),
      );
      return;
    }
    if (denied.has(operationHint)) {
      finish(errorAnswer(kind.service, kind.protocol, denyError(kind.service, operationHint, verified.record.arn), requestId, operationHint));
      return;
    }
    if (kind.service === 'sqs') finish(kind.protocol === 'json' ? sqs.handleJson(request) : sqs.handleQuery(request));
    else finish(sns.handleQuery(request));
  };

  const server = createServer((req, res) => {
    const userAgent = header(req, 'user-agent');
    const record: AwsServiceRecord = { service: '', protocol: '', operation: '', status: 0, ...(userAgent !== undefined ? { userAgent } : {}) };
    log.push(record);
    handle(req, res, record).catch((err: unknown) => {
      record.status = 500;
      if (!res.headersSent) {
        res.statusCode = 500;
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify({ message: `sandbox internal error: ${(err as Error).message}` }));
      } else res.destroy();
    });
  });
  server.keepAliveTimeout = 5000;
  const port = await listenOnLoopback(server, options.port);
  return {
    url: `http://127.0.0.1:${port}`,
    account,
    region,
    lambda,
    sqs,
    sns,
    deny: (operation) => {
      denied.add(operation);
    },
    allow: (operation) => {
      denied.delete(operation);
    },
    requests: () => log.map((r) => ({ ...r })),
    close: closerOf(server),
  };
}
