// AWS Lambda's control-plane API, the read side `tng lambda verify` uses plus TagResource, in the REST-JSON
// protocol that @aws-sdk/client-lambda and the AWS CLI speak (API reference: GetFunction,
// GetFunctionConfiguration, GetFunctionCodeSigningConfig, GetCodeSigningConfig, GetFunctionConcurrency,
// ListTags, TagResource). Functions and code-signing configs are seeded through `LambdaState`.
import { createHash, randomBytes } from 'node:crypto';
import { AwsSandboxError, type ServiceAnswer, type ServiceRequest } from './wire.ts';

export type UntrustedArtifactPolicy = 'Enforce' | 'Warn';

export interface FunctionSpec {
  name: string;
  /** The execution role's ARN; default arn:aws:iam::<account>:role/<name>-role. */
  role?: string;
  runtime?: string;
  handler?: string;
  vpc?: { subnetIds: string[]; securityGroupIds?: string[]; vpcId?: string };
  /** DeadLetterConfig.TargetArn: an SQS queue or SNS topic ARN. */
  deadLetterTargetArn?: string;
  reservedConcurrency?: number;
  codeSigningConfigArn?: string;
  tags?: Record<string, string>;
}

export interface CodeSigningConfigSpec {
  policy: UntrustedArtifactPolicy;
  signingProfileVersionArns?: string[];
  description?: string;
}

interface StoredFunction extends FunctionSpec {
  arn: string;
  tags: Record<string, string>;
  lastModified: string;
  codeSha256: string;
  revisionId: string;
}

interface StoredCsc {
  arn: string;
  id: string;
  spec: CodeSigningConfigSpec;
  lastModified: string;
}

const lambdaTime = (date: Date) => date.toISOString().replace('Z', '+0000');
const lowerAlnum = (n: number) => [...randomBytes(n)].map((b) => 'abcdefghijklmnopqrstuvwxyz0123456789'[b % 36]).join('');

/** "METHOD version/collection/{}[/tail]" → the operation (the API reference's request syntax). */
const ROUTES: Record<string, string> = {
  'GET 2015-03-31/functions/{}': 'GetFunction',
  'GET 2015-03-31/functions/{}/configuration': 'GetFunctionConfiguration',
  'GET 2020-06-30/functions/{}/code-signing-config': 'GetFunctionCodeSigningConfig',
  'GET 2020-04-22/code-signing-configs/{}': 'GetCodeSigningConfig',
  'GET 2019-09-30/functions/{}/concurrency': 'GetFunctionConcurrency',
  'GET 2017-03-31/tags/{}': 'ListTags',
  'POST 2017-03-31/tags/{}': 'TagResource',
};

const notFound = (message: string) => new AwsSandboxError(404, 'ResourceNotFoundException', message);
const invalid = (message: string) => new AwsSandboxError(400, 'InvalidParameterValueException', message);

/** The functions and code-signing configs of one account and region. */
export class LambdaState {
  private readonly functions = new Map<string, StoredFunction>();
  private readonly cscs = new Map<string, StoredCsc>();

  constructor(
    readonly account: string,
    readonly region: string,
  ) {}

  putCodeSigningConfig(spec: CodeSigningConfigSpec): string {
    if (spec.policy !== 'Enforce' && spec.policy !== 'Warn') throw new Error('UntrustedArtifactOnDeployment is Enforce or Warn');
    const id = `csc-${lowerAlnum(17)}`;
    const arn = `arn:aws:lambda:${this.region}:${this.account}:code-signing-config:${id}`;
    this.cscs.set(arn, { arn, id, spec: structuredClone(spec), lastModified: lambdaTime(new Date()) });
    return arn;
  }

  /** Creates or replaces a function; returns its ARN. */
  putFunction(spec: FunctionSpec): string {
    if (!/^[a-zA-Z0-9-_]{1,64}$/.test(spec.name)) throw new Error(`invalid function name ${JSON.stringify(spec.name)}`);
    if (spec.codeSigningConfigArn !== undefined && !this.cscs.has(spec.codeSigningConfigArn)) throw new Error(`no code signing config ${spec.codeSigningConfigArn}`);
    const arn = `arn:aws:lambda:${this.region}:${this.account}:function:${spec.name}`;
    this.functions.set(spec.name, {
      ...structuredClone(spec),
      arn,
      tags: { ...(spec.tags ?? {}) },
      lastModified: lambdaTime(new Date()),
      codeSha256: createHash('sha256').update(spec.name).digest('base64'),
      revisionId: randomBytes(16).toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-'),
    });
    return arn;
  }

  /** The function's tags as they are now. */
  tagsOf(name: string): Record<string, string> {
    return { ...(this.functions.get(name)?.tags ?? {}) };
  }

  /** A name, name:qualifier, partial ARN or ARN, looked up in the region the request was signed for. */
  private resolve(ref: string, region: string): StoredFunction {
    const m = /^(?:arn:aws[a-zA-Z-]*:lambda:([a-z0-9-]+):)?(?:(\d{12}):)?(?:function:)?([a-zA-Z0-9-_]+)(?::(\$LATEST|[a-zA-Z0-9-_]+))?$/.exec(ref);
    if (!m) throw invalid(`1 validation error detected: Value '${ref}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern`);
    const [, arnRegion, account, name, qualifier] = m as unknown as [string, string | undefined, string | undefined, string, string | undefined];
    const target = `arn:aws:lambda:${arnRegion ?? region}:${account ?? this.account}:function:${name}`;
    const fn = this.functions.get(name);
    if (!fn || (arnRegion ?? region) !== this.region || (account ?? this.account) !== this.account || (qualifier !== undefined && qualifier !== '$LATEST')) {
      throw notFound(`Function not found: ${target}${qualifier !== undefined ? `:${qualifier}` : ''}`);
    }
    return fn;
  }

  private configuration(fn: StoredFunction): Record<string, unknown> {
    const config: Record<string, unknown> = {
      FunctionName: fn.name,
      FunctionArn: fn.arn,
      Runtime: fn.runtime ?? 'nodejs20.x',
      Role: fn.role ?? `arn:aws:iam::${this.account}:role/${fn.name}-role`,
      Handler: fn.handler ?? 'index.handler',
      CodeSize: 4096,
      Description: '',
      Timeout: 30,
      MemorySize: 256,
      LastModified: fn.lastModified,
      CodeSha256: fn.codeSha256,
      Version: '$LATEST',
      // Lambda answers an empty VpcConfig for a function outside any VPC.
      VpcConfig: { SubnetIds: [...(fn.vpc?.subnetIds ?? [])], SecurityGroupIds: [...(fn.vpc?.securityGroupIds ?? [])], VpcId: fn.vpc?.vpcId ?? '' },
      TracingConfig: { Mode: 'PassThrough' },
      RevisionId: fn.revisionId,
      State: 'Active',
      LastUpdateStatus: 'Successful',
      PackageType: 'Zip',
      Architectures: ['x86_64'],
      EphemeralStorage: { Size: 512 },
      SnapStart: { ApplyOn: 'None', OptimizationStatus: 'Off' },
    };
    if (fn.deadLetterTargetArn !== undefined) config.DeadLetterConfig = { TargetArn: fn.deadLetterTargetArn };
    if (fn.codeSigningConfigArn !== undefined) {
      config.SigningProfileVersionArn = this.cscs.get(fn.codeSigningConfigArn)?.spec.signingProfileVersionArns?.[0] ?? `arn:aws:signer:${this.region}:${this.account}:/signing-profiles/tng/abcdefghij`;
      config.SigningJobArn = `arn:aws:signer:${this.region}:${this.account}:/signing-jobs/${randomBytes(16).toString('hex')}`;
    }
    return config;
  }

  /** Answers one REST-JSON request; `authorize(operation)` throws to refuse it. */
  handle(request: ServiceRequest, authorize: (operation: string) => void): ServiceAnswer {
    const method = (request.req.method ?? 'GET').toUpperCase();
    const segments = request.url.pathname.split('/').slice(1).map((s) => decodeURIComponent(s));
    const [version, collection, ref, tail, ...extra] = segments as [string, string, string | undefined, string | undefined, ...string[]];
    const route = `${method} ${version}/${collection}/${ref === undefined ? '' : '{}'}${tail === undefined ? '' : `/${tail}`}${extra.length > 0 ? '/…' : ''}`;
    const operation = ROUTES[route] ?? '';
    try {
      if (operation === '') throw new AwsSandboxError(404, 'UnknownOperationException', `The sandbox's Lambda has no operation for ${method} ${request.url.pathname}`);
      authorize(operation);
      const { status, body } = this.run(operation, ref as string, request);
      return { status, operation, headers: { 'Content-Type': 'application/json' }, body: body === undefined ? '' : JSON.stringify(body) };
    } catch (error) {
      if (error instanceof AwsSandboxError) return lambdaError(error, operation);
      throw error;
    }
  }

  private run(operation: string, ref: string, request: ServiceRequest): { status: number; body?: unknown } {
    const qualifier = request.url.searchParams.get('Qualifier') ?? undefined;
    const withQualifier = (r: string) => (qualifier ? `${r}:${qualifier}` : r);
    switch (operation) {
      case 'GetFunction': {
        const fn = this.resolve(withQualifier(ref), request.region);
        const body: Record<string, unknown> = {
          Configuration: this.configuration(fn),
          Code: { RepositoryType: 'S3', Location: `https://awslambda-${this.region}-tasks.s3.${this.region}.amazonaws.com/snapshots/${this.account}/${fn.name}-sandbox` },
        };
        if (Object.keys(fn.tags).length > 0) body.Tags = { ...fn.tags };
        if (fn.reservedConcurrency !== undefined) body.Concurrency = { ReservedConcurrentExecutions: fn.reservedConcurrency };
        return { status: 200, body };
      }
      case 'GetFunctionConfiguration':
        return { status: 200, body: this.configuration(this.resolve(withQualifier(ref), request.region)) };
      case 'GetFunctionCodeSigningConfig': {
        const fn = this.resolve(ref, request.region);
        return { status: 200, body: { CodeSigningConfigArn: fn.codeSigningConfigArn ?? '', FunctionName: fn.name } };
      }
      case 'GetCodeSigningConfig': {
        const csc = this.cscs.get(ref);
        if (!csc) throw notFound(`Code signing configuration not found: ${ref}`);
        return {
          status: 200,
          body: {
            CodeSigningConfig: {
              CodeSigningConfigId: csc.id,
              CodeSigningConfigArn: csc.arn,
              Description: csc.spec.description ?? '',
              AllowedPublishers: { SigningProfileVersionArns: [...(csc.spec.signingProfileVersionArns ?? [])] },
              CodeSigningPolicies: { UntrustedArtifactOnDeployment: csc.spec.policy },
              LastModified: csc.lastModified,
            },
          },
        };
      }
      case 'GetFunctionConcurrency': {
        const fn = this.resolve(ref, request.region);
        return { status: 200, body: fn.reservedConcurrency === undefined ? {} : { ReservedConcurrentExecutions: fn.reservedConcurrency } };
      }
      case 'ListTags':
        return { status: 200, body: { Tags: { ...this.byArn(ref, request.region).tags } } };
      default: {
        const fn = this.byArn(ref, request.region);
        let tags: unknown;
        try {
          tags = (JSON.parse(request.body.toString('utf8') || '{}') as { Tags?: unknown }).Tags;
        } catch {
          throw invalid('Could not parse request body into json');
        }
        if (tags === null || typeof tags !== 'object' || Array.isArray(tags) || Object.values(tags).some((v) => typeof v !== 'string')) {
          throw invalid('Tags must be a map of strings');
        }
        Object.assign(fn.tags, tags);
        return { status: 204 };
      }
    }
  }

  /** Tag operations take the unqualified function ARN only. */
  private byArn(arn: string, region: string): StoredFunction {
    if (!/^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:[a-zA-Z0-9-_]+$/.test(arn)) throw invalid(`Invalid ARN: ${arn}`);
    return this.resolve(arn, region);
  }
}

/** Lambda's REST-JSON error: the code in X-Amzn-ErrorType, `{"Type","Message"}` in the body. */
export function lambdaError(error: AwsSandboxError, operation: string): ServiceAnswer {
  // Signature problems carry Lambda's own names, not STS's.
  const code = ({ InvalidClientTokenId: 'UnrecognizedClientException', SignatureDoesNotMatch: 'InvalidSignatureException', ExpiredToken: 'ExpiredTokenException' } as Record<string, string>)[error.code] ?? error.code;
  return {
    status: error.status,
    operation,
    code,
    headers: { 'Content-Type': 'application/json', 'X-Amzn-ErrorType': code },
    body: JSON.stringify({ Type: error.status < 500 ? 'User' : 'Service', Message: error.message }),
  };
}
