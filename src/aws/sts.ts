import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { TngError, describe } from '../errors.ts';
import type { AwsCredentials } from './credentials.ts';
import { configuredEndpoint } from './endpoints.ts';
import { awsProxyFor, awsRequestHandler, sdkCredentials } from './transport.ts';

export interface CallerIdentity {
  arn: string;
  account: string;
  userId: string;
}

/** The STS endpoint the AWS SDKs would use: AWS_ENDPOINT_URL_STS, else AWS_ENDPOINT_URL, else AWS's own. */
export function stsEndpoint(env: NodeJS.ProcessEnv, region: string): string {
  return configuredEndpoint(env, 'STS') ?? `https://sts.${region}.amazonaws.com`;
}

/** STS GetCallerIdentity with the given credentials, through HTTPS_PROXY when set (never for loopback). */
export async function callerIdentity(credentials: AwsCredentials, options: { region: string; env: NodeJS.ProcessEnv }): Promise<CallerIdentity> {
  const endpoint = stsEndpoint(options.env, options.region);
  const client = new STSClient({
    region: options.region,
    endpoint,
    credentials: sdkCredentials(credentials),
    maxAttempts: 2,
    requestHandler: awsRequestHandler(endpoint),
  });
  try {
    const answer = await client.send(new GetCallerIdentityCommand({}));
    return { arn: answer.Arn ?? '', account: answer.Account ?? '', userId: answer.UserId ?? '' };
  } catch (error) {
    const name = (error as { name?: string }).name ?? '';
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status !== undefined && status >= 200 && status < 300) {
      // A success status whose body the SDK could not read: not a refusal, a broken answer.
      throw new TngError('unavailable', 'aws.sts-malformed', `STS at ${endpoint} answered GetCallerIdentity with something unreadable (${name || describe(error)}).`, {
        hint: 'Check AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL and HTTPS_PROXY, or use `tng whoami --no-verify`.',
        cause: error,
      });
    }
    if (status !== undefined && status < 500 && status !== 429) {
      throw new TngError('denied', 'aws.sts-denied', `STS refused the current AWS credentials (${name}: ${describe(error)}).`, {
        hint: 'Run `tng exec -- true` to get fresh credentials, or check the Vault AWS role.',
        cause: error,
      });
    }
    const proxy = status === undefined ? awsProxyFor(endpoint) : undefined;
    const through = proxy === undefined ? '' : ` through the proxy ${new URL(proxy).origin}`;
    throw new TngError('unavailable', 'aws.sts-unavailable', `Cannot reach STS at ${endpoint}${through} (${name || describe(error)}).`, {
      hint:
        proxy === undefined
          ? 'Check the network (and HTTPS_PROXY), or use `tng whoami --no-verify`.'
          : `Check that the proxy in HTTPS_PROXY is right and up, or list ${new URL(endpoint).hostname} in NO_PROXY; or use \`tng whoami --no-verify\`.`,
      cause: error,
    });
  } finally {
    client.destroy();
  }
}
