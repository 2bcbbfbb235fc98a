// The sandbox's Lambda, SQS and SNS endpoints checked with independent clients: the AWS SDK v3 clients
// (@aws-sdk/client-lambda REST-JSON, client-sqs AWS JSON 1.0, client-sns Query) and Debian's AWS CLI v2
// (/usr/bin/aws 2.9, whose SQS still speaks the Query protocol), with credentials the sandbox Vault's AWS
// secrets engine issued. Requests no client sends (a wrong service scope) are signed here.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Sha256 } from '@aws-crypto/sha256-js';
import {
  GetCodeSigningConfigCommand,
  GetFunctionCodeSigningConfigCommand,
  GetFunctionCommand,
  GetFunctionConcurrencyCommand,
  GetFunctionConfigurationCommand,
  LambdaClient,
  ListTagsCommand,
  TagResourceCommand,
} from '@aws-sdk/client-lambda';
import { GetTopicAttributesCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand, GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SignatureV4 } from '@smithy/signature-v4';
import { createVaultClient } from '../../src/lambda/index.ts';
import { startAwsServicesSandbox, type AwsServicesSandbox } from './services/index.ts';
import { seedFunctions, type SeededFunctions } from './services/seed.ts';
import { startStsSandbox, type StsSandbox } from './sts.ts';
import { startVaultSandbox, type VaultSandbox } from './vault/index.ts';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const fnArn = (name: string) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;

interface Creds {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

let vault: VaultSandbox;
let sts: StsSandbox;
let aws: AwsServicesSandbox;
let seeded: SeededFunctions;
let creds: Creds;
let home: string;

/** Credentials from the Vault sandbox's AWS secrets engine, asked for with a token from its AWS auth method. */
async function vaultIssuedCredentials(): Promise<Creds> {
  const fn = vault.awsCredentials.addStatic({ arn: `arn:aws:sts::${ACCOUNT}:assumed-role/ci-runner/job` });
  const token = await createVaultClient({ address: vault.addr, role: 'ci', credentials: async () => fn }).token();
  const response = await fetch(`${vault.addr}/v1/aws/sts/deploy`, { method: 'POST', headers: { 'X-Vault-Token': token }, body: JSON.stringify({ role_session_name: 'services-test' }) });
  assert.equal(response.status, 200);
  const data = ((await response.json()) as { data: Record<string, string> }).data;
  return { accessKeyId: data.access_key as string, secretAccessKey: data.secret_key as string, sessionToken: data.session_token as string };
}

before(async () => {
  vault = await startVaultSandbox({
    aws: { roles: { deploy: { credential_type: 'assumed_role', role_arns: [`arn:aws:iam::${ACCOUNT}:role/deploy`] } } },
    awsAuth: { roles: { ci: { bound_iam_principal_arn: `arn:aws:iam::${ACCOUNT}:role/ci-runner` } } },
  });
  sts = await startStsSandbox({ registry: vault.awsCredentials });
  vault.setAwsAuthConfig({ sts_endpoint: sts.url });
  aws = await startAwsServicesSandbox({ registry: vault.awsCredentials, account: ACCOUNT, region: REGION });
  seeded = seedFunctions(aws, { hardenedTags: { 'tng:audit-id': 'seeded-id' } });
  creds = await vaultIssuedCredentials();
  home = await mkdtemp(join(tmpdir(), 'tng-services-test-'));
});

after(async () => {
  await Promise.allSettled([vault.close(), sts.close(), aws.close()]);
  await rm(home, { recursive: true, force: true });
});

const sdk = { region: REGION, get endpoint() { return aws.url; }, get credentials() { return creds; }, maxAttempts: 1 };
const lambda = () => new LambdaClient(sdk);
const since = (from: number) => aws.requests().slice(from);

async function rejects(promise: Promise<unknown>, name: string, message?: RegExp): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  const error = (await promise.then(() => undefined, (e: unknown) => e)) as Error & { $metadata?: { httpStatusCode?: number } };
  assert.ok(error, `expected ${name}`);
  assert.equal(error.name, name, error.message);
  if (message) assert.match(error.message, message);
  return error;
}

interface CliResult {
  code: number;
  json: any;
  stderr: string;
}

/** Debian's AWS CLI v2 with env credentials only: no config files, no instance metadata. */
async function cli(args: string[], with_: Creds = creds): Promise<CliResult> {
  const env: Record<string, string> = {
    HOME: home,
    PATH: process.env.PATH ?? '',
    AWS_ACCESS_KEY_ID: with_.accessKeyId,
    AWS_SECRET_ACCESS_KEY: with_.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: join(home, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-credentials'),
    AWS_PAGER: '',
  };
  if (with_.sessionToken) env.AWS_SESSION_TOKEN = with_.sessionToken;
  try {
    const { stdout, stderr } = await promisify(execFile)('/usr/bin/aws', [...args, '--endpoint-url', aws.url, '--region', REGION, '--output', 'json'], { env, encoding: 'utf8' });
    return { code: 0, json: stdout.trim() === '' ? undefined : JSON.parse(stdout), stderr };
  } catch (error) {
    const e = error as { code?: number; stderr?: string };
    return { code: e.code ?? -1, json: undefined, stderr: e.stderr ?? '' };
  }
}

describe('Lambda (REST-JSON)', () => {
  test('@aws-sdk/client-lambda: the five read operations of lambda verify, by name, ARN and partial ARN', async () => {
    const client = lambda();
    const from = aws.requests().length;
    const config = await client.send(new GetFunctionConfigurationCommand({ FunctionName: seeded.hardened }));
    assert.equal(config.FunctionArn, fnArn('tng-fn'));
    assert.equal(config.Role, `arn:aws:iam::${ACCOUNT}:role/tng-fn-role`);
    assert.deepEqual(config.VpcConfig?.SubnetIds, ['subnet-0a1b2c3d4e5f60718', 'subnet-0f1e2d3c4b5a69788']);
    assert.equal(config.DeadLetterConfig?.TargetArn, seeded.dlqArn);
    assert.match(config.LastModified ?? '', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$/);
    assert.equal((await client.send(new GetFunctionConfigurationCommand({ FunctionName: `${ACCOUNT}:function:tng-fn` }))).FunctionName, 'tng-fn');
    assert.equal((await client.send(new GetFunctionConfigurationCommand({ FunctionName: 'tng-fn', Qualifier: '$LATEST' }))).Version, '$LATEST');
    const signing = await client.send(new GetFunctionCodeSigningConfigCommand({ FunctionName: fnArn('tng-fn') }));
    assert.match(signing.CodeSigningConfigArn ?? '', /^arn:aws:lambda:us-east-1:123456789012:code-signing-config:csc-[a-z0-9]{17}$/);
    const csc = await client.send(new GetCodeSigningConfigCommand({ CodeSigningConfigArn: signing.CodeSigningConfigArn }));
    assert.equal(csc.CodeSigningConfig?.CodeSigningPolicies?.UntrustedArtifactOnDeployment, 'Enforce');
    assert.equal(csc.CodeSigningConfig?.CodeSigningConfigArn, signing.CodeSigningConfigArn);
    assert.equal((await client.send(new GetFunctionConcurrencyCommand({ FunctionName: 'tng-fn' }))).ReservedConcurrentExecutions, 5);
    assert.deepEqual((await client.send(new ListTagsCommand({ Resource: fnArn('tng-fn') }))).Tags, { app: 'tng-fn', 'tng:audit-id': 'seeded-id' });
    const whole = await client.send(new GetFunctionCommand({ FunctionName: 'tng-fn' }));
    assert.deepEqual([whole.Configuration?.FunctionName, whole.Concurrency?.ReservedConcurrentExecutions, whole.Tags?.app], ['tng-fn', 5, 'tng-fn']);
    const seen = since(from);
    assert.ok(seen.every((r) => r.service === 'lambda' && r.protocol === 'rest-json' && r.status === 200 && r.accessKeyId === creds.accessKeyId));
    assert.ok(seen.every((r) => r.callerArn === `arn:aws:sts::${ACCOUNT}:assumed-role/deploy/services-test`));
  });

  test('a weak function: empty VpcConfig, no concurrency, no code signing config (empty ARN)', async () => {
    const client = lambda();
    const weak = await client.send(new GetFunctionConfigurationCommand({ FunctionName: seeded.weak }));
    assert.deepEqual(weak.VpcConfig, { SubnetIds: [], SecurityGroupIds: [], VpcId: '' });
    assert.equal((await client.send(new GetFunctionConcurrencyCommand({ FunctionName: seeded.weak }))).ReservedConcurrentExecutions, undefined);
    assert.equal((await client.send(new GetFunctionCodeSigningConfigCommand({ FunctionName: seeded.weakTopic }))).CodeSigningConfigArn, '');
    assert.equal((await client.send(new GetFunctionConcurrencyCommand({ FunctionName: seeded.weakTopic }))).ReservedConcurrentExecutions, 0);
  });

  test('errors: unknown function, another region, a qualifier that does not exist, TagResource on a version ARN', async () => {
    const client = lambda();
    const missing = await rejects(client.send(new GetFunctionConfigurationCommand({ FunctionName: 'nope' })), 'ResourceNotFoundException', /^Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope$/);
    assert.equal(missing.$metadata?.httpStatusCode, 404);
    await rejects(new LambdaClient({ ...sdk, region: 'eu-west-1' }).send(new GetFunctionConfigurationCommand({ FunctionName: 'tng-fn' })), 'ResourceNotFoundException', /function:tng-fn$/);
    await rejects(client.send(new GetFunctionConfigurationCommand({ FunctionName: 'tng-fn', Qualifier: 'prod' })), 'ResourceNotFoundException', /tng-fn:prod$/);
    await rejects(client.send(new TagResourceCommand({ Resource: `${fnArn('tng-fn')}:1`, Tags: { a: 'b' } })), 'InvalidParameterValueException');
  });

  test('AWS CLI v2: get-function-configuration matches the SDK; code signing, concurrency, tags; tag-resource', async () => {
    const from = aws.requests().length;
    const config = await cli(['lambda', 'get-function-configuration', '--function-name', 'tng-fn']);
    assert.equal(config.code, 0, config.stderr);
    const viaSdk = await lambda().send(new GetFunctionConfigurationCommand({ FunctionName: 'tng-fn' }));
    for (const key of ['FunctionArn', 'Role', 'VpcConfig', 'DeadLetterConfig', 'CodeSha256', 'LastModified'] as const) assert.deepEqual(config.json[key], viaSdk[key], key);
    const signing = await cli(['lambda', 'get-function-code-signing-config', '--function-name', fnArn('tng-fn')]);
    const csc = await cli(['lambda', 'get-code-signing-config', '--code-signing-config-arn', signing.json.CodeSigningConfigArn]);
    assert.equal(csc.json.CodeSigningConfig.CodeSigningPolicies.UntrustedArtifactOnDeployment, 'Enforce');
    assert.deepEqual((await cli(['lambda', 'get-function-concurrency', '--function-name', 'tng-fn'])).json, { ReservedConcurrentExecutions: 5 });
    assert.equal((await cli(['lambda', 'tag-resource', '--resource', fnArn('weak-fn'), '--tags', 'tng:audit-id=from-cli,team=ops'])).code, 0);
    assert.deepEqual((await cli(['lambda', 'list-tags', '--resource', fnArn('weak-fn')])).json.Tags, { app: 'weak-fn', 'tng:audit-id': 'from-cli', team: 'ops' });
    assert.deepEqual(aws.lambda.tagsOf('weak-fn')['tng:audit-id'], 'from-cli');
    const missing = await cli(['lambda', 'get-function-configuration', '--function-name', 'nope']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /An error occurred \(ResourceNotFoundException\) when calling the GetFunctionConfiguration operation: Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope/);
    assert.deepEqual(since(from).map((r) => (/^aws-cli\/2\./.test(r.userAgent ?? '') ? 'cli' : 'sdk')), ['cli', 'sdk', 'cli', 'cli', 'cli', 'cli', 'cli', 'cli']);
  });
});

describe('SQS (AWS JSON 1.0 for the SDK, Query for the CLI)', () => {
  test('@aws-sdk/client-sqs: GetQueueUrl then GetQueueAttributes KmsMasterKeyId, over X-Amz-Target', async () => {
    const client = new SQSClient(sdk);
    const from = aws.requests().length;
    const { QueueUrl } = await client.send(new GetQueueUrlCommand({ QueueName: 'tng-fn-dlq', QueueOwnerAWSAccountId: ACCOUNT }));
    assert.equal(QueueUrl, `${aws.url}/${ACCOUNT}/tng-fn-dlq`);
    const attributes = await client.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['KmsMasterKeyId'] }));
    assert.deepEqual(attributes.Attributes, { KmsMasterKeyId: seeded.cmkArn });
    const all = await client.send(new GetQueueAttributesCommand({ QueueUrl: `${aws.url}/${ACCOUNT}/weak-fn-dlq`, AttributeNames: ['All'] }));
    assert.equal(all.Attributes?.KmsMasterKeyId, 'alias/aws/sqs');
    assert.equal(all.Attributes?.QueueArn, `arn:aws:sqs:${REGION}:${ACCOUNT}:weak-fn-dlq`);
    assert.deepEqual(since(from).map((r) => [r.protocol, r.operation, r.status]), [['json', 'GetQueueUrl', 200], ['json', 'GetQueueAttributes', 200], ['json', 'GetQueueAttributes', 200]]);
    await rejects(client.send(new GetQueueUrlCommand({ QueueName: 'nope' })), 'QueueDoesNotExist');
    await rejects(client.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['NoSuchAttribute' as 'All'] })), 'InvalidAttributeName');
  });

  test('AWS CLI v2 (Query protocol): get-queue-url, get-queue-attributes, and the non-existent-queue error', async () => {
    const from = aws.requests().length;
    const url = await cli(['sqs', 'get-queue-url', '--queue-name', 'tng-fn-dlq']);
    assert.equal(url.code, 0, url.stderr);
    assert.equal(url.json.QueueUrl, `${aws.url}/${ACCOUNT}/tng-fn-dlq`);
    const attributes = await cli(['sqs', 'get-queue-attributes', '--queue-url', url.json.QueueUrl, '--attribute-names', 'KmsMasterKeyId', 'QueueArn']);
    assert.deepEqual(attributes.json.Attributes, { QueueArn: `arn:aws:sqs:${REGION}:${ACCOUNT}:tng-fn-dlq`, KmsMasterKeyId: seeded.cmkArn });
    const missing = await cli(['sqs', 'get-queue-url', '--queue-name', 'nope']);
    assert.match(missing.stderr, /An error occurred \(AWS\.SimpleQueueService\.NonExistentQueue\) when calling the GetQueueUrl operation: The specified queue does not exist\./);
    assert.deepEqual(since(from).map((r) => r.protocol), ['query', 'query', 'query']);
  });
});

describe('SNS (Query)', () => {
  test('@aws-sdk/client-sns and the AWS CLI: GetTopicAttributes with KmsMasterKeyId; NotFound', async () => {
    const client = new SNSClient(sdk);
    const topic = `arn:aws:sns:${REGION}:${ACCOUNT}:tng-fn-dlq-topic`;
    const { Attributes } = await client.send(new GetTopicAttributesCommand({ TopicArn: topic }));
    assert.equal(Attributes?.KmsMasterKeyId, 'alias/tng-fn-dlq');
    assert.equal(Attributes?.TopicArn, topic);
    const viaCli = await cli(['sns', 'get-topic-attributes', '--topic-arn', `arn:aws:sns:${REGION}:${ACCOUNT}:weak-fn-dlq-topic`]);
    assert.equal(viaCli.json.Attributes.KmsMasterKeyId, `arn:aws:kms:${REGION}:${ACCOUNT}:alias/aws/sns`);
    const missing = await rejects(client.send(new GetTopicAttributesCommand({ TopicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:nope` })), 'NotFoundException', /Topic does not exist/);
    assert.equal(missing.$metadata?.httpStatusCode, 404);
    assert.match((await cli(['sns', 'get-topic-attributes', '--topic-arn', `arn:aws:sns:${REGION}:${ACCOUNT}:nope`])).stderr, /An error occurred \(NotFound\) when calling the GetTopicAttributes operation: Topic does not exist/);
  });
});

describe('SigV4 and access', () => {
  test('a tampered secret, an unknown key and an expired credential are refused in each service\'s own terms', async () => {
    const tampered = { ...creds, secretAccessKey: `${creds.secretAccessKey.slice(0, -1)}${creds.secretAccessKey.endsWith('A') ? 'B' : 'A'}` };
    const unknown = { ...creds, accessKeyId: 'ASIAUNKNOWNKEY000000' };
    const lambdaWith = (c: Creds) => new LambdaClient({ ...sdk, credentials: c });
    await rejects(lambdaWith(tampered).send(new GetFunctionConfigurationCommand({ FunctionName: 'tng-fn' })), 'InvalidSignatureException');
    await rejects(lambdaWith(unknown).send(new GetFunctionConfigurationCommand({ FunctionName: 'tng-fn' })), 'UnrecognizedClientException');
    const sqsError = (await new SQSClient({ ...sdk, credentials: tampered }).send(new GetQueueUrlCommand({ QueueName: 'tng-fn-dlq' })).then(() => undefined, (e: unknown) => e)) as { Code?: string; $metadata?: { httpStatusCode?: number } };
    assert.equal(sqsError.$metadata?.httpStatusCode, 403);
    assert.equal(sqsError.Code, 'SignatureDoesNotMatch');
    await rejects(new SNSClient({ ...sdk, credentials: unknown }).send(new GetTopicAttributesCommand({ TopicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:tng-fn-dlq-topic` })), 'InvalidClientTokenId');
    assert.match((await cli(['lambda', 'get-function-configuration', '--function-name', 'tng-fn'], tampered)).stderr, /\(InvalidSignatureException\)/);
    assert.match((await cli(['sqs', 'get-queue-url', '--queue-name', 'tng-fn-dlq'], unknown)).stderr, /\(InvalidClientTokenId\)/);

    const short = await vaultIssuedCredentials();
    vault.awsCredentials.expireCredentials(short.accessKeyId);
    await rejects(lambdaWith(short).send(new GetFunctionConfigurationCommand({ FunctionName: 'tng-fn' })), 'ExpiredTokenException');
  });

  test('a request signed for another service is refused, whatever the credential', async () => {
    const url = new URL(`${aws.url}/2015-03-31/functions/tng-fn/configuration`);
    const signer = new SignatureV4({ service: 'sqs', region: REGION, credentials: creds, sha256: Sha256 });
    const signed = await signer.sign({ method: 'GET', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: url.pathname, query: {}, headers: { host: url.host } });
    const response = await fetch(url, { headers: Object.fromEntries(Object.entries(signed.headers).filter(([k]) => k !== 'host')) });
    assert.equal(response.status, 403);
    assert.equal(response.headers.get('x-amzn-errortype'), 'InvalidSignatureException');
    assert.match(((await response.json()) as { Message: string }).Message, /Credential should be scoped to correct service: 'lambda'/);
  });

  test('deny(operation) answers AccessDenied in each protocol until allow()', async () => {
    aws.deny('GetFunctionConcurrency');
    aws.deny('GetQueueAttributes');
    aws.deny('GetTopicAttributes');
    try {
      await rejects(lambda().send(new GetFunctionConcurrencyCommand({ FunctionName: 'tng-fn' })), 'AccessDeniedException', /is not authorized to perform: lambda:GetFunctionConcurrency/);
      const sqsDenied = await new SQSClient(sdk).send(new GetQueueAttributesCommand({ QueueUrl: `${aws.url}/${ACCOUNT}/tng-fn-dlq`, AttributeNames: ['KmsMasterKeyId'] })).catch((e: unknown) => e as Error);
      assert.equal((sqsDenied as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode, 403);
      await rejects(new SNSClient(sdk).send(new GetTopicAttributesCommand({ TopicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:tng-fn-dlq-topic` })), 'AuthorizationErrorException');
      assert.match((await cli(['sqs', 'get-queue-attributes', '--queue-url', `${aws.url}/${ACCOUNT}/tng-fn-dlq`, '--attribute-names', 'All'])).stderr, /\(AccessDenied\)/);
    } finally {
      aws.allow('GetFunctionConcurrency');
      aws.allow('GetQueueAttributes');
      aws.allow('GetTopicAttributes');
    }
    assert.equal((await lambda().send(new GetFunctionConcurrencyCommand({ FunctionName: 'tng-fn' }))).ReservedConcurrentExecutions, 5);
  });

  test('an endpoint for one service does not answer another\'s requests (per-service endpoint variables can be told apart)', async () => {
    const sqsOnly = await startAwsServicesSandbox({ registry: vault.awsCredentials, services: ['sqs'] });
    try {
      sqsOnly.sqs.putQueue({ name: 'q' });
      const error = await new LambdaClient({ ...sdk, endpoint: sqsOnly.url }).send(new GetFunctionConfigurationCommand({ FunctionName: 'tng-fn' })).catch((e: unknown) => e as Error & { $metadata?: { httpStatusCode?: number } });
      assert.equal(error.$metadata?.httpStatusCode, 404);
      assert.equal((await new SQSClient({ ...sdk, endpoint: sqsOnly.url }).send(new GetQueueUrlCommand({ QueueName: 'q' }))).QueueUrl, `${sqsOnly.url}/${ACCOUNT}/q`);
      assert.deepEqual(sqsOnly.requests().map((r) => [r.service, r.status]), [['', 404], ['sqs', 200]]);
    } finally {
      await sqsOnly.close();
    }
  });
});
