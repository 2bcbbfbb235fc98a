/**
 * Reads what the checks need from AWS with tng's credentials: Lambda (configuration, code signing config,
 * reserved concurrency, tags) and the dead-letter target's KmsMasterKeyId from SQS or SNS. No KMS call: the
 * key is judged by its id. Endpoints follow AWS_ENDPOINT_URL(_LAMBDA/_SQS/_SNS) as the SDKs do.
 */
import {
  GetCodeSigningConfigCommand,
  GetFunctionCodeSigningConfigCommand,
  GetFunctionConcurrencyCommand,
  GetFunctionConfigurationCommand,
  LambdaClient,
  ListTagsCommand,
} from '@aws-sdk/client-lambda';
import { GetTopicAttributesCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand, GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { AwsCredentials } from '../aws/credentials.ts';
import { serviceEndpoint, type ServiceId } from '../aws/endpoints.ts';
import { awsRequestHandler, sdkCredentials } from '../aws/transport.ts';
import { TngError, describe, usageError } from '../errors.ts';
import type { DeadLetterFacts, FunctionFacts } from './checks.ts';

export interface InspectOptions {
  credentials: AwsCredentials;
  region: string;
  env: NodeJS.ProcessEnv;
}

interface ClientConfig {
  region: string;
  endpoint?: string;
  credentials: ReturnType<typeof sdkCredentials>;
  maxAttempts: number;
  requestHandler: ReturnType<typeof awsRequestHandler>;
}

function clientConfig(service: ServiceId, region: string, options: InspectOptions): { config: ClientConfig; url: string } {
  const endpoint = serviceEndpoint(options.env, service, region);
  return {
    url: endpoint.url,
    config: {
      region,
      ...(endpoint.configured ? { endpoint: endpoint.url } : {}),
      credentials: sdkCredentials(options.credentials),
      maxAttempts: 2,
      requestHandler: awsRequestHandler(endpoint.url),
    },
  };
}

const DENIED = /^(AccessDenied|AuthorizationError|UnrecognizedClient|InvalidSignature|SignatureDoesNotMatch|InvalidClientTokenId|ExpiredToken|IncompleteSignature|MissingAuthenticationToken)/;

/** An SDK failure as tng's error: refused (exit 4), unreachable or failing (exit 6), or a bad request (exit 2). */
function awsError(error: unknown, service: string, operation: string, url: string): TngError {
  const name = (error as { name?: string }).name ?? '';
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const detail = `${name ? `${name}: ` : ''}${describe(error)}`;
  if (DENIED.test(name) || status === 401 || status === 403) {
    return new TngError('denied', 'lambda.aws-denied', `AWS refused ${service} ${operation} (${detail}).`, {
      hint: 'The AWS role tng issues credentials for needs lambda:GetFunctionConfiguration, lambda:GetFunctionCodeSigningConfig, lambda:GetCodeSigningConfig, lambda:GetFunctionConcurrency, lambda:ListTags, sqs:GetQueueUrl, sqs:GetQueueAttributes and sns:GetTopicAttributes.',
      cause: error,
    });
  }
  if (status === undefined || status === 429 || status >= 500 || /Throttl|TooManyRequests/.test(name)) {
    return new TngError('unavailable', 'lambda.aws-unavailable', `Cannot get an answer from ${service} at ${url} for ${operation} (${detail}).`, {
      hint: 'Check the network (and HTTPS_PROXY, AWS_ENDPOINT_URL*), then retry.',
      cause: error,
    });
  }
  return usageError('lambda.aws-request', `${service} refused ${operation} as invalid (${detail}).`, 'Check the function name or ARN.', error);
}

async function call<T>(service: string, operation: string, url: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw awsError(error, service, operation, url);
  }
}

const isNotFound = (error: unknown): boolean => /^(ResourceNotFound|QueueDoesNotExist|NotFound|AWS\.SimpleQueueService\.NonExistentQueue)/.test((error as { name?: string }).name ?? '');

/** The dead-letter target's encryption: SQS GetQueueUrl + GetQueueAttributes, or SNS GetTopicAttributes. */
async function deadLetter(targetArn: string, options: InspectOptions): Promise<DeadLetterFacts> {
  const parts = /^arn:aws[a-zA-Z-]*:(sqs|sns):([a-z0-9-]+):(\d{12}):(.+)$/.exec(targetArn);
  if (!parts) return { kind: 'other', targetArn };
  const [, kind, region, account, name] = parts as unknown as ['', 'sqs' | 'sns', string, string, string];
  if (kind === 'sqs') {
    const { config, url } = clientConfig('SQS', region, options);
    const sqs = new SQSClient(config);
    try {
      let queueUrl: string | undefined;
      try {
        queueUrl = (await sqs.send(new GetQueueUrlCommand({ QueueName: name, QueueOwnerAWSAccountId: account }))).QueueUrl;
      } catch (error) {
        if (isNotFound(error)) return { kind, targetArn, found: false };
        throw awsError(error, 'SQS', 'GetQueueUrl', url);
      }
      const attributes = await call('SQS', 'GetQueueAttributes', url, () => sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['KmsMasterKeyId'] })));
      return { kind, targetArn, found: true, kmsMasterKeyId: attributes.Attributes?.KmsMasterKeyId };
    } finally {
      sqs.destroy();
    }
  }
  const { config, url } = clientConfig('SNS', region, options);
  const sns = new SNSClient(config);
  try {
    const attributes = await sns.send(new GetTopicAttributesCommand({ TopicArn: targetArn }));
    return { kind, targetArn, found: true, kmsMasterKeyId: attributes.Attributes?.KmsMasterKeyId };
  } catch (error) {
    if (isNotFound(error)) return { kind, targetArn, found: false };
    throw awsError(error, 'SNS', 'GetTopicAttributes', url);
  } finally {
    sns.destroy();
  }
}

/** Everything the checks look at. A function that does not exist is a usage error (exit 2). */
export async function inspectFunction(functionName: string, options: InspectOptions): Promise<FunctionFacts> {
  const { config, url } = clientConfig('Lambda', options.region, options);
  const lambda = new LambdaClient(config);
  try {
    let configuration;
    try {
      configuration = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functionName }));
    } catch (error) {
      if (isNotFound(error)) {
        throw usageError('lambda.not-found', `No Lambda function "${functionName}" in ${options.region} (${describe(error)}).`, 'Check the name, or pass the function\'s ARN; the region comes from the ARN, else aws_region, else AWS_REGION.', error);
      }
      throw awsError(error, 'Lambda', 'GetFunctionConfiguration', url);
    }
    // Code signing, concurrency and tags belong to the function, not to a version or alias.
    const arn = (configuration.FunctionArn ?? '').split(':').slice(0, 7).join(':');
    const [signing, concurrency, tags, dlq] = await Promise.all([
      call('Lambda', 'GetFunctionCodeSigningConfig', url, () => lambda.send(new GetFunctionCodeSigningConfigCommand({ FunctionName: arn }))).then(async (answer) => {
        const configArn = answer.CodeSigningConfigArn;
        if (!configArn) return undefined;
        const csc = await call('Lambda', 'GetCodeSigningConfig', url, () => lambda.send(new GetCodeSigningConfigCommand({ CodeSigningConfigArn: configArn })));
        return { configArn, policy: csc.CodeSigningConfig?.CodeSigningPolicies?.UntrustedArtifactOnDeployment };
      }),
      call('Lambda', 'GetFunctionConcurrency', url, () => lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: arn }))),
      call('Lambda', 'ListTags', url, () => lambda.send(new ListTagsCommand({ Resource: arn }))),
      configuration.DeadLetterConfig?.TargetArn ? deadLetter(configuration.DeadLetterConfig.TargetArn, options) : Promise.resolve(undefined),
    ]);
    return {
      name: configuration.FunctionName ?? functionName,
      arn,
      region: options.region,
      codeSigning: signing,
      subnetIds: configuration.VpcConfig?.SubnetIds ?? [],
      vpcId: configuration.VpcConfig?.VpcId || undefined,
      deadLetter: dlq,
      reservedConcurrency: concurrency.ReservedConcurrentExecutions,
      tags: tags.Tags ?? {},
    };
  } finally {
    lambda.destroy();
  }
}
