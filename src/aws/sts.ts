import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { getProxyForUrl } from 'proxy-from-env';
import { TngError, describe } from '../errors.ts';
import { isLoopbackHost } from '../net/url.ts';
import type { AwsCredentials } from './credentials.ts';

export interface CallerIdentity {
  arn: string;
  account: string;
  userId: string;
}

/** The STS endpoint the AWS SDKs would use: AWS_ENDPOINT_URL_STS, else AWS_ENDPOINT_URL, else AWS's own. */
export function stsEndpoint(env: NodeJS.ProcessEnv, region: string): string {
  return env.AWS_ENDPOINT_URL_STS || env.AWS_ENDPOINT_URL || `https://sts.${region}.amazonaws.com`;
}

/** STS GetCallerIdentity with the given credentials, through HTTPS_PROXY when set (never for loopback). */
export async function callerIdentity(credentials: AwsCredentials, options: { region: string; env: NodeJS.ProcessEnv }): Promise<CallerIdentity> {
  const endpoint = stsEndpoint(options.env, options.region);
  const host = new URL(endpoint).hostname;
  const proxy = isLoopbackHost(host) ? '' : getProxyForUrl(endpoint);
  const client = new STSClient({
    region: options.region,
    endpoint,
    credentials: {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      sessionToken: credentials.sessionToken,
    },
    maxAttempts: 2,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: 10_000,
      requestTimeout: 15_000,
      ...(proxy ? { httpsAgent: new HttpsProxyAgent(proxy) } : {}),
    }),
  });
  try {
    const answer = await client.send(new GetCallerIdentityCommand({}));
    return { arn: answer.Arn ?? '', account: answer.Account ?? '', userId: answer.UserId ?? '' };
  } catch (error) {
    const name = (error as { name?: string }).name ?? '';
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status !== undefined && status < 500 && status !== 429) {
      throw new TngError('denied', 'aws.sts-denied', `STS refused the current AWS credentials (${name}: ${describe(error)}).`, {
        hint: 'Run `tng exec -- true` to get fresh credentials, or check the Vault AWS role.',
        cause: error,
      });
    }
    throw new TngError('unavailable', 'aws.sts-unavailable', `Cannot reach STS at ${endpoint} (${name || describe(error)}).`, {
      hint: 'Check the network (and HTTPS_PROXY), or use `tng whoami --no-verify`.',
      cause: error,
    });
  } finally {
    client.destroy();
  }
}
