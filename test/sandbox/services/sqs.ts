// Amazon SQS, the part that tells about a queue: GetQueueUrl and GetQueueAttributes, in both protocols SQS
// serves — AWS JSON 1.0 (`X-Amz-Target: AmazonSQS.<Operation>`, what @aws-sdk/client-sqs v3 sends, with
// AWS's query-compatible error header) and the older AWS Query protocol (form `Action=…&Version=2012-11-05`,
// XML answers, what the Debian AWS CLI 2.9 sends). Queues are seeded through `SqsState`.
import { AwsSandboxError, queryError, queryParams, queryResponse, type ServiceAnswer, type ServiceRequest, xmlEscape } from './wire.ts';
import { header } from '../sigv4.ts';

export interface QueueSpec {
  name: string;
  /** SSE-KMS: a key id, key ARN, alias name or alias ARN (e.g. "alias/aws/sqs" for the AWS-managed key). */
  kmsMasterKeyId?: string;
  /** SSE-SQS (SQS-owned keys); ignored when kmsMasterKeyId is set. */
  sqsManagedSse?: boolean;
}

interface StoredQueue extends QueueSpec {
  arn: string;
  created: number;
}

const XMLNS = 'http://queue.amazonaws.com/doc/2012-11-05/';
const ATTRIBUTES = [
  'All', 'ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesDelayed', 'ApproximateNumberOfMessagesNotVisible', 'CreatedTimestamp',
  'DelaySeconds', 'LastModifiedTimestamp', 'MaximumMessageSize', 'MessageRetentionPeriod', 'Policy', 'QueueArn', 'ReceiveMessageWaitTimeSeconds',
  'RedrivePolicy', 'VisibilityTimeout', 'KmsMasterKeyId', 'KmsDataKeyReusePeriodSeconds', 'SqsManagedSseEnabled', 'FifoQueue',
  'ContentBasedDeduplication', 'DeduplicationScope', 'FifoThroughputLimit', 'RedriveAllowPolicy',
];

/** The AWS JSON error type, and the query-compatible code AWS sends alongside it. */
const ERRORS: Record<string, { type: string; code: string }> = {
  QueueDoesNotExist: { type: 'com.amazonaws.sqs#QueueDoesNotExist', code: 'AWS.SimpleQueueService.NonExistentQueue' },
  InvalidAttributeName: { type: 'com.amazonaws.sqs#InvalidAttributeName', code: 'InvalidAttributeName' },
  MissingParameter: { type: 'com.amazonaws.sqs#MissingParameter', code: 'MissingParameter' },
  UnknownOperation: { type: 'com.amazon.coral.service#UnknownOperationException', code: 'UnknownOperationException' },
  AccessDenied: { type: 'com.amazon.coral.service#AccessDeniedException', code: 'AccessDenied' },
};

const sqsError = (name: keyof typeof ERRORS, message: string, status = 400) => new AwsSandboxError(status, name, message);

export class SqsState {
  private readonly queues = new Map<string, StoredQueue>();

  constructor(
    readonly account: string,
    readonly region: string,
  ) {}

  /** Creates or replaces a queue; returns its ARN. */
  putQueue(spec: QueueSpec): string {
    if (!/^[a-zA-Z0-9_-]{1,80}(\.fifo)?$/.test(spec.name)) throw new Error(`invalid queue name ${JSON.stringify(spec.name)}`);
    const arn = `arn:aws:sqs:${this.region}:${this.account}:${spec.name}`;
    this.queues.set(spec.name, { ...spec, arn, created: Math.floor(Date.now() / 1000) });
    return arn;
  }

  private attributes(queue: StoredQueue): Record<string, string> {
    const all: Record<string, string> = {
      QueueArn: queue.arn,
      ApproximateNumberOfMessages: '0',
      ApproximateNumberOfMessagesNotVisible: '0',
      ApproximateNumberOfMessagesDelayed: '0',
      CreatedTimestamp: String(queue.created),
      LastModifiedTimestamp: String(queue.created),
      VisibilityTimeout: '30',
      MaximumMessageSize: '262144',
      MessageRetentionPeriod: '345600',
      DelaySeconds: '0',
      ReceiveMessageWaitTimeSeconds: '0',
      SqsManagedSseEnabled: String(queue.kmsMasterKeyId === undefined && queue.sqsManagedSse === true),
    };
    if (queue.kmsMasterKeyId !== undefined) {
      all.KmsMasterKeyId = queue.kmsMasterKeyId;
      all.KmsDataKeyReusePeriodSeconds = '300';
    }
    if (queue.name.endsWith('.fifo')) all.FifoQueue = 'true';
    return all;
  }

  /** A queue URL names the account and the queue in its path, whatever host it was given for. */
  private byUrl(url: string | undefined, region: string): StoredQueue {
    if (!url) throw sqsError('MissingParameter', 'The request must contain the parameter QueueUrl.');
    let path: string;
    try {
      path = new URL(url).pathname;
    } catch {
      throw sqsError('QueueDoesNotExist', 'The specified queue does not exist.');
    }
    const [, account, name] = /^\/(\d{12})\/([^/]+)$/.exec(path) ?? [];
    const queue = name === undefined ? undefined : this.queues.get(name);
    if (!queue || account !== this.account || region !== this.region) throw sqsError('QueueDoesNotExist', 'The specified queue does not exist.');
    return queue;
  }

  private getQueueUrl(input: { QueueName?: unknown; QueueOwnerAWSAccountId?: unknown }, request: ServiceRequest): { QueueUrl: string } {
    if (typeof input.QueueName !== 'string' || input.QueueName === '') throw sqsError('MissingParameter', 'The request must contain the parameter QueueName.');
    const owner = typeof input.QueueOwnerAWSAccountId === 'string' && input.QueueOwnerAWSAccountId !== '' ? input.QueueOwnerAWSAccountId : this.account;
    if (!this.queues.has(input.QueueName) || owner !== this.account || request.region !== this.region) throw sqsError('QueueDoesNotExist', 'The specified queue does not exist.');
    return { QueueUrl: `${request.origin}/${this.account}/${input.QueueName}` };
  }

  private getQueueAttributes(input: { QueueUrl?: unknown; AttributeNames?: unknown }, request: ServiceRequest): { Attributes?: Record<string, string> } {
    const queue = this.byUrl(typeof input.QueueUrl === 'string' ? input.QueueUrl : undefined, request.region);
    const names = Array.isArray(input.AttributeNames) ? (input.AttributeNames as unknown[]).map(String) : [];
    const unknown = names.find((n) => !ATTRIBUTES.includes(n));
    if (unknown !== undefined) throw sqsError('InvalidAttributeName', `Unknown Attribute ${unknown}.`);
    const all = this.attributes(queue);
    const picked = names.includes('All') ? all : Object.fromEntries(Object.entries(all).filter(([k]) => names.includes(k)));
    return Object.keys(picked).length > 0 ? { Attributes: picked } : {};
  }

  /** AWS JSON 1.0: the operation in X-Amz-Target, the input as a JSON body. */
  handleJson(request: ServiceRequest): ServiceAnswer {
    const target = header(request.req, 'x-amz-target') ?? '';
    const operation = target.replace(/^AmazonSQS\./, '');
    try {
      let input: Record<string, unknown>;
      try {
        input = JSON.parse(request.body.toString('utf8') || '{}') as Record<string, unknown>;
      } catch {
        throw new AwsSandboxError(400, 'SerializationException', 'The request body is not valid JSON.');
      }
      let output: unknown;
      if (operation === 'GetQueueUrl') output = this.getQueueUrl(input, request);
      else if (operation === 'GetQueueAttributes') output = this.getQueueAttributes(input, request);
      else throw sqsError('UnknownOperation', `The sandbox's SQS does not serve ${operation}.`);
      return { status: 200, operation, headers: { 'Content-Type': 'application/x-amz-json-1.0' }, body: JSON.stringify(output) };
    } catch (error) {
      if (error instanceof AwsSandboxError) return sqsJsonError(error, operation);
      throw error;
    }
  }

  /** AWS Query: `Action=…`, lists as `AttributeName.N`, XML answers. */
  handleQuery(request: ServiceRequest): ServiceAnswer {
    const params = queryParams(request.url, request.body, header(request.req, 'content-type'));
    const operation = params.get('Action') ?? '';
    try {
      let result: string;
      if (operation === 'GetQueueUrl') {
        const out = this.getQueueUrl({ QueueName: params.get('QueueName') ?? undefined, QueueOwnerAWSAccountId: params.get('QueueOwnerAWSAccountId') ?? undefined }, request);
        result = `<QueueUrl>${xmlEscape(out.QueueUrl)}</QueueUrl>`;
      } else if (operation === 'GetQueueAttributes') {
        const names = [...params.entries()].filter(([k]) => /^AttributeName\.\d+$/.test(k)).map(([, v]) => v);
        const out = this.getQueueAttributes({ QueueUrl: params.get('QueueUrl') ?? undefined, AttributeNames: names }, request);
        result = Object.entries(out.Attributes ?? {})
          .map(([k, v]) => `<Attribute><Name>${xmlEscape(k)}</Name><Value>${xmlEscape(v)}</Value></Attribute>`)
          .join('');
      } else {
        throw new AwsSandboxError(400, 'InvalidAction', `The action ${operation} is not valid for this endpoint.`);
      }
      return { status: 200, operation, headers: { 'Content-Type': 'text/xml' }, body: queryResponse(operation, XMLNS, result, request.requestId) };
    } catch (error) {
      if (error instanceof AwsSandboxError) {
        const code = ERRORS[error.code]?.code ?? error.code;
        return queryError(new AwsSandboxError(error.status, code, error.message, error.type), XMLNS, request.requestId, operation);
      }
      throw error;
    }
  }

  queryError(error: AwsSandboxError, requestId: string, operation: string): ServiceAnswer {
    return queryError(error, XMLNS, requestId, operation);
  }
}

/** SQS's JSON errors: `__type` and `message`, plus the Query code in x-amzn-query-error for query-compatible clients. */
export function sqsJsonError(error: AwsSandboxError, operation: string): ServiceAnswer {
  const known = ERRORS[error.code];
  const type = known?.type ?? `com.amazon.coral.service#${error.code}`;
  const code = known?.code ?? error.code;
  return {
    status: error.status,
    operation,
    code,
    headers: { 'Content-Type': 'application/x-amz-json-1.0', 'x-amzn-query-error': `${code};${error.type}` },
    body: JSON.stringify({ __type: type, message: error.message }),
  };
}
