// The pure parts of `tng lambda verify`: the four hardening checks over AWS's answers, which keys count as
// AWS-managed, where endpoints and the region come from, the report and its exit-8 error, and the flags.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configuredEndpoint, defaultEndpoint, serviceEndpoint } from '../../../src/aws/endpoints.ts';
import { lambdaCommand, type LambdaVerifyOptions } from '../../../src/commands/lambda.ts';
import { createDeps } from '../../../src/deps.ts';
import { ExitCode, TngError, isTngError } from '../../../src/errors.ts';
import { hardeningChecks, isAwsManagedKey, type FunctionFacts } from '../../../src/lambda-verify/checks.ts';
import { failedChecksError, formatReport, reportJson } from '../../../src/lambda-verify/report.ts';
import { functionRegion } from '../../../src/lambda-verify/verify.ts';

const CSC = 'arn:aws:lambda:us-east-1:123456789012:code-signing-config:csc-0123456789abcdefg';
const CMK = 'arn:aws:kms:us-east-1:123456789012:key/0f3c2d1e-5a6b-4c7d-8e9f-a0b1c2d3e4f5';

const hardened: FunctionFacts = {
  name: 'fn',
  arn: 'arn:aws:lambda:us-east-1:123456789012:function:fn',
  region: 'us-east-1',
  codeSigning: { configArn: CSC, policy: 'Enforce' },
  subnetIds: ['subnet-1', 'subnet-2'],
  vpcId: 'vpc-1',
  deadLetter: { kind: 'sqs', targetArn: 'arn:aws:sqs:us-east-1:123456789012:dlq', found: true, kmsMasterKeyId: CMK },
  reservedConcurrency: 5,
  tags: {},
};

const verdicts = (facts: FunctionFacts) => Object.fromEntries(hardeningChecks(facts).map((c) => [c.name, c.ok]));

describe('lambda verify: the hardening checks', () => {
  it('a hardened function passes all four, each with a detail', () => {
    const checks = hardeningChecks(hardened);
    assert.deepEqual(checks.map((c) => [c.name, c.ok]), [['code signing', true], ['VPC', true], ['DLQ', true], ['reserved concurrency', true]]);
    assert.equal(checks[0]?.detail, 'csc-0123456789abcdefg rejects unsigned or untrusted code (UntrustedArtifactOnDeployment = Enforce)');
    assert.equal(checks[1]?.detail, '2 subnets (subnet-1, subnet-2) in vpc-1');
    assert.equal(checks[2]?.detail, `SQS queue dlq, encrypted with ${CMK}`);
    assert.equal(checks[3]?.detail, '5');
  });

  it('code signing: only an Enforce policy passes', () => {
    assert.equal(verdicts({ ...hardened, codeSigning: { configArn: CSC, policy: 'Warn' } })['code signing'], false);
    assert.equal(verdicts({ ...hardened, codeSigning: { configArn: CSC, policy: undefined } })['code signing'], false);
    assert.equal(verdicts({ ...hardened, codeSigning: undefined })['code signing'], false);
  });

  it('VPC: at least one subnet', () => {
    assert.equal(verdicts({ ...hardened, subnetIds: [], vpcId: undefined }).VPC, false);
    assert.equal(verdicts({ ...hardened, subnetIds: ['subnet-9'], vpcId: undefined }).VPC, true);
  });

  it('DLQ: an SQS queue or SNS topic that exists, under a key that is not AWS-managed', () => {
    const dlq = (deadLetter: FunctionFacts['deadLetter']) => hardeningChecks({ ...hardened, deadLetter })[2];
    assert.equal(dlq(undefined)?.ok, false);
    assert.equal(dlq({ kind: 'sns', targetArn: 'arn:aws:sns:us-east-1:1:t', found: true, kmsMasterKeyId: 'alias/my-key' })?.ok, true);
    assert.equal(dlq({ kind: 'sqs', targetArn: 'arn:aws:sqs:us-east-1:1:q', found: true, kmsMasterKeyId: 'alias/aws/sqs' })?.ok, false);
    assert.equal(dlq({ kind: 'sqs', targetArn: 'arn:aws:sqs:us-east-1:1:q', found: true, kmsMasterKeyId: undefined })?.detail, 'dead-letter queue q is not encrypted with a KMS key (no KmsMasterKeyId)');
    assert.equal(dlq({ kind: 'sqs', targetArn: 'arn:aws:sqs:us-east-1:1:q', found: true, kmsMasterKeyId: '' })?.ok, false);
    assert.equal(dlq({ kind: 'sns', targetArn: 'arn:aws:sns:us-east-1:1:gone', found: false })?.detail, 'dead-letter topic gone does not exist (arn:aws:sns:us-east-1:1:gone)');
    assert.equal(dlq({ kind: 'other', targetArn: 'arn:aws:s3:::bucket' })?.ok, false);
  });

  it('AWS-managed keys: alias/aws/… as a name or an alias ARN in any partition', () => {
    for (const key of ['alias/aws/sqs', 'alias/aws/sns', 'arn:aws:kms:us-east-1:123456789012:alias/aws/sqs', 'arn:aws-us-gov:kms:us-gov-west-1:123456789012:alias/aws/sns', 'arn:aws-cn:kms:cn-north-1:123456789012:alias/aws/sqs']) {
      assert.equal(isAwsManagedKey(key), true, key);
    }
    for (const key of ['alias/awsome', 'alias/aws-custom', 'alias/my/aws/sqs', CMK, '0f3c2d1e-5a6b-4c7d-8e9f-a0b1c2d3e4f5', 'arn:aws:kms:us-east-1:123456789012:alias/tng-dlq']) {
      assert.equal(isAwsManagedKey(key), false, key);
    }
  });

  it('reserved concurrency: set, even to 0', () => {
    assert.equal(verdicts({ ...hardened, reservedConcurrency: undefined })['reserved concurrency'], false);
    assert.equal(hardeningChecks({ ...hardened, reservedConcurrency: 0 })[3]?.detail, '0 (the function is throttled: it cannot run)');
  });
});

describe('lambda verify: endpoints and region', () => {
  it('per-service endpoint variables win over AWS_ENDPOINT_URL; AWS_IGNORE_CONFIGURED_ENDPOINT_URLS turns both off', () => {
    const env = { AWS_ENDPOINT_URL: 'http://all', AWS_ENDPOINT_URL_LAMBDA: 'http://lambda', AWS_ENDPOINT_URL_SQS: '' };
    assert.equal(configuredEndpoint(env, 'Lambda'), 'http://lambda');
    assert.equal(configuredEndpoint(env, 'SQS'), 'http://all', 'an empty per-service variable is unset');
    assert.equal(configuredEndpoint(env, 'SNS'), 'http://all');
    assert.equal(configuredEndpoint({}, 'STS'), undefined);
    assert.equal(configuredEndpoint({ ...env, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'TRUE' }, 'Lambda'), undefined);
    assert.equal(configuredEndpoint({ ...env, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'false' }, 'Lambda'), 'http://lambda');
    assert.deepEqual(serviceEndpoint({}, 'SQS', 'eu-west-1'), { url: 'https://sqs.eu-west-1.amazonaws.com', configured: false });
    assert.equal(defaultEndpoint('Lambda', 'cn-north-1'), 'https://lambda.cn-north-1.amazonaws.com.cn');
  });

  it('an endpoint variable that is not an http(s) URL is exit 2 naming the variable, not "an internal error"', () => {
    for (const [env, service, variable] of [
      [{ AWS_ENDPOINT_URL: '127.0.0.1:4566' }, 'Lambda', 'AWS_ENDPOINT_URL'],
      [{ AWS_ENDPOINT_URL: 'localhost:4566' }, 'STS', 'AWS_ENDPOINT_URL'],
      [{ AWS_ENDPOINT_URL: 'http://ok', AWS_ENDPOINT_URL_SQS: 'not a url' }, 'SQS', 'AWS_ENDPOINT_URL_SQS'],
      [{ AWS_ENDPOINT_URL_STS: '::::' }, 'STS', 'AWS_ENDPOINT_URL_STS'],
    ] as const) {
      assert.throws(
        () => configuredEndpoint(env, service),
        (error: unknown) => error instanceof TngError && error.exitCode === 2 && error.message.startsWith(`${variable} "`),
        `${service} ${JSON.stringify(env)}`,
      );
    }
  });

  it('the region: the ARN\'s, else aws_region, else AWS_REGION, else AWS_DEFAULT_REGION, else a usage error', () => {
    const profile = { name: 'work', awsRegion: 'eu-central-1' };
    assert.equal(functionRegion('arn:aws:lambda:ap-south-1:123456789012:function:fn', profile, { AWS_REGION: 'us-west-2' }), 'ap-south-1');
    assert.equal(functionRegion('fn', profile, { AWS_REGION: 'us-west-2' }), 'eu-central-1');
    assert.equal(functionRegion('fn', { name: 'work', awsRegion: undefined }, { AWS_REGION: 'us-west-2', AWS_DEFAULT_REGION: 'us-east-2' }), 'us-west-2');
    assert.equal(functionRegion('123456789012:function:fn', { name: 'work', awsRegion: undefined }, { AWS_DEFAULT_REGION: 'us-east-2' }), 'us-east-2');
    assert.throws(
      () => functionRegion('fn', { name: 'work', awsRegion: undefined }, {}),
      (e: unknown) => isTngError(e, 'usage') && /No AWS region for the function "fn"/.test(e.message) && /--aws-region/.test(e.hint),
    );
  });
});

describe('lambda verify: the report', () => {
  const report = {
    function: hardened.arn,
    region: 'us-east-1',
    checks: [...hardeningChecks({ ...hardened, subnetIds: [], reservedConcurrency: undefined }), { name: 'audit' as const, ok: true, detail: 'signed' }],
    ok: false,
  };

  it('a table with one row per check on stderr', () => {
    const lines = formatReport(report);
    assert.equal(lines[0], `Lambda function ${hardened.arn}`);
    assert.equal(lines[2], 'CHECK                 RESULT  DETAIL');
    assert.equal(lines[3], 'code signing          pass    csc-0123456789abcdefg rejects unsigned or untrusted code (UntrustedArtifactOnDeployment = Enforce)');
    assert.match(lines[4] ?? '', /^VPC {19}FAIL {4}no subnets attached/);
    assert.match(lines[6] ?? '', /^reserved concurrency {2}FAIL {4}not set/);
    assert.equal(lines.at(-1), '2 of 5 checks fail.');
    assert.equal(formatReport({ ...report, checks: report.checks.map((c) => ({ ...c, ok: true })), ok: true }).at(-1), 'All 5 checks pass.');
  });

  it('--json: one object with function, region, checks and ok', () => {
    const parsed = JSON.parse(reportJson(report)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(parsed), ['function', 'region', 'checks', 'ok']);
    assert.deepEqual((parsed.checks as Array<Record<string, unknown>>).map((c) => Object.keys(c)), Array(5).fill(['name', 'ok', 'detail']));
    assert.equal(parsed.ok, false);
  });

  it('exit 8, the first line naming each failing check', () => {
    const error = failedChecksError(report);
    assert.equal(error.exitCode, ExitCode.verification);
    assert.equal(error.message, `Lambda function ${hardened.arn} fails 2 of 5 checks: VPC, reserved concurrency.`);
    assert.ok(!error.message.includes('\n'));
  });
});

describe('lambda verify: flags', () => {
  it('FUNCTION, --json, --audit and --profile reach the run function', async () => {
    const seen: LambdaVerifyOptions[] = [];
    const deps = createDeps({}, new AbortController().signal);
    let code = -1;
    const command = lambdaCommand(deps, (c) => (code = c), async (options) => {
      seen.push(options);
      return 0;
    });
    await command.parseAsync(['verify', 'my-fn', '--json', '--audit', 'trail.jsonl', '--profile', 'work'], { from: 'user' });
    await command.parseAsync(['verify', 'arn:aws:lambda:eu-west-1:123456789012:function:fn'], { from: 'user' });
    assert.deepEqual(seen, [
      { profile: 'work', function: 'my-fn', json: true, audit: 'trail.jsonl' },
      { profile: undefined, function: 'arn:aws:lambda:eu-west-1:123456789012:function:fn', json: false, audit: undefined },
    ]);
    assert.equal(code, 0);
  });
});
