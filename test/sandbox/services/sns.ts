// Amazon SNS's GetTopicAttributes in the AWS Query protocol (what @aws-sdk/client-sns v3 and the AWS CLI
// send: form `Action=GetTopicAttributes&TopicArn=…&Version=2010-03-31`, XML answers with the attributes as
// `<entry><key/><value/></entry>`). Topics are seeded through `SnsState`.
import { AwsSandboxError, queryError, queryParams, queryResponse, type ServiceAnswer, type ServiceRequest, xmlEscape } from './wire.ts';
import { header } from '../sigv4.ts';

export interface TopicSpec {
  name: string;
  /** SSE: a key id, key ARN, alias name or alias ARN (e.g. "alias/aws/sns" for the AWS-managed key). */
  kmsMasterKeyId?: string;
}

const XMLNS = 'http://sns.amazonaws.com/doc/2010-03-31/';

export class SnsState {
  private readonly topics = new Map<string, TopicSpec & { arn: string }>();

  constructor(
    readonly account: string,
    readonly region: string,
  ) {}

  /** Creates or replaces a topic; returns its ARN. */
  putTopic(spec: TopicSpec): string {
    if (!/^[a-zA-Z0-9_-]{1,256}(\.fifo)?$/.test(spec.name)) throw new Error(`invalid topic name ${JSON.stringify(spec.name)}`);
    const arn = `arn:aws:sns:${this.region}:${this.account}:${spec.name}`;
    this.topics.set(arn, { ...spec, arn });
    return arn;
  }

  handleQuery(request: ServiceRequest): ServiceAnswer {
    const params = queryParams(request.url, request.body, header(request.req, 'content-type'));
    const operation = params.get('Action') ?? '';
    try {
      if (operation !== 'GetTopicAttributes') throw new AwsSandboxError(400, 'InvalidAction', `The action ${operation} is not valid for this endpoint.`);
      const arn = params.get('TopicArn');
      if (!arn) throw new AwsSandboxError(400, 'InvalidParameter', 'Invalid parameter: TopicArn');
      if (!/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[a-zA-Z0-9_.-]+$/.test(arn)) throw new AwsSandboxError(400, 'InvalidParameter', 'Invalid parameter: TopicArn');
      const topic = this.topics.get(arn);
      if (!topic || request.region !== this.region) throw new AwsSandboxError(404, 'NotFound', 'Topic does not exist');
      const attributes: Record<string, string> = {
        TopicArn: topic.arn,
        Owner: this.account,
        DisplayName: '',
        SubscriptionsConfirmed: '0',
        SubscriptionsPending: '0',
        SubscriptionsDeleted: '0',
        EffectiveDeliveryPolicy: '{"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":20,"maxDelayTarget":20,"numRetries":3,"numMaxDelayRetries":0,"numNoDelayRetries":0,"numMinDelayRetries":0,"backoffFunction":"linear"},"disableSubscriptionOverrides":false}}',
      };
      if (topic.kmsMasterKeyId !== undefined) attributes.KmsMasterKeyId = topic.kmsMasterKeyId;
      const entries = Object.entries(attributes)
        .map(([k, v]) => `<entry><key>${xmlEscape(k)}</key><value>${xmlEscape(v)}</value></entry>`)
        .join('');
      return { status: 200, operation, headers: { 'Content-Type': 'text/xml' }, body: queryResponse(operation, XMLNS, `<Attributes>${entries}</Attributes>`, request.requestId) };
    } catch (error) {
      if (error instanceof AwsSandboxError) return queryError(error, XMLNS, request.requestId, operation);
      throw error;
    }
  }

  queryError(error: AwsSandboxError, requestId: string, operation: string): ServiceAnswer {
    return queryError(error, XMLNS, requestId, operation);
  }
}
