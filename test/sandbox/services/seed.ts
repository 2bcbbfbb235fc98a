// Deployed functions to check: one built as the lambda template builds it (code signing enforced, in a
// VPC, an SQS dead-letter queue under a customer-managed KMS key, reserved concurrency) and weak ones that
// miss each property, plus an SNS-topic variant of each.
import type { AwsServicesSandbox } from './index.ts';

export interface SeededFunctions {
  /** Every property; the audit-id tag is for the test to add (TagResource or `tags`). */
  hardened: string;
  /** Hardened too, with an SNS topic under a customer-managed key as its dead-letter target. */
  hardenedTopic: string;
  /** Code signing only warns, no VPC, the DLQ under alias/aws/sqs, no reserved concurrency, no audit tag. */
  weak: string;
  /** No code signing config, its DLQ topic under the AWS-managed SNS key (as an alias ARN). */
  weakTopic: string;
  /** The customer-managed KMS key. */
  cmkArn: string;
  dlqArn: string;
}

export function seedFunctions(aws: AwsServicesSandbox, options: { hardenedTags?: Record<string, string> } = {}): SeededFunctions {
  const { account, region } = aws;
  const cmkArn = `arn:aws:kms:${region}:${account}:key/0f3c2d1e-5a6b-4c7d-8e9f-a0b1c2d3e4f5`;
  const signingProfile = `arn:aws:signer:${region}:${account}:/signing-profiles/tng_fn/Ab12Cd34Ef`;
  const enforce = aws.lambda.putCodeSigningConfig({ policy: 'Enforce', signingProfileVersionArns: [signingProfile], description: 'tng-fn: signed code only' });
  const warn = aws.lambda.putCodeSigningConfig({ policy: 'Warn', signingProfileVersionArns: [signingProfile] });
  const dlqArn = aws.sqs.putQueue({ name: 'tng-fn-dlq', kmsMasterKeyId: cmkArn });
  const weakQueue = aws.sqs.putQueue({ name: 'weak-fn-dlq', kmsMasterKeyId: 'alias/aws/sqs' });
  const cmkTopic = aws.sns.putTopic({ name: 'tng-fn-dlq-topic', kmsMasterKeyId: 'alias/tng-fn-dlq' });
  const awsManagedTopic = aws.sns.putTopic({ name: 'weak-fn-dlq-topic', kmsMasterKeyId: `arn:aws:kms:${region}:${account}:alias/aws/sns` });
  const vpc = { subnetIds: ['subnet-0a1b2c3d4e5f60718', 'subnet-0f1e2d3c4b5a69788'], securityGroupIds: ['sg-0123456789abcdef0'], vpcId: 'vpc-0abc1234def567890' };
  aws.lambda.putFunction({
    name: 'tng-fn',
    role: `arn:aws:iam::${account}:role/tng-fn-role`,
    codeSigningConfigArn: enforce,
    vpc,
    deadLetterTargetArn: dlqArn,
    reservedConcurrency: 5,
    tags: { app: 'tng-fn', ...options.hardenedTags },
  });
  aws.lambda.putFunction({ name: 'tng-fn-topic', codeSigningConfigArn: enforce, vpc, deadLetterTargetArn: cmkTopic, reservedConcurrency: 2, tags: { ...options.hardenedTags } });
  aws.lambda.putFunction({ name: 'weak-fn', codeSigningConfigArn: warn, deadLetterTargetArn: weakQueue, tags: { app: 'weak-fn' } });
  aws.lambda.putFunction({ name: 'weak-fn-topic', deadLetterTargetArn: awsManagedTopic, reservedConcurrency: 0 });
  return { hardened: 'tng-fn', hardenedTopic: 'tng-fn-topic', weak: 'weak-fn', weakTopic: 'weak-fn-topic', cmkArn, dlqArn };
}
