import { Agent as HttpsAgent } from 'node:https';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { getProxyForUrl } from 'proxy-from-env';
import { isLoopbackHost } from '../net/url.ts';
import type { AwsCredentials } from './credentials.ts';

/**
 * The request handler of tng's AWS SDK clients: HTTPS_PROXY / NO_PROXY as for Vault, never for loopback,
 * with connection and request time limits.
 */
export function awsRequestHandler(endpoint: string): NodeHttpHandler {
  // The SDK's notice about future Node versions is for the SDK's users, not for tng's; it would land on stderr.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const proxy = awsProxyFor(endpoint) ?? '';
  // TLS is verified whatever NODE_TLS_REJECT_UNAUTHORIZED says: tng never switches verification off, and a
  // request to an impostor would carry the session token (X-Amz-Security-Token) to it.
  const verified = { rejectUnauthorized: true };
  return new NodeHttpHandler({
    connectionTimeout: 10_000,
    requestTimeout: 15_000,
    httpsAgent: proxy ? new HttpsProxyAgent(proxy, verified) : new HttpsAgent({ ...verified, keepAlive: true }),
  });
}

/** The proxy (HTTPS_PROXY, unless NO_PROXY names the host) that requests to `endpoint` go through; never one for loopback. */
export function awsProxyFor(endpoint: string): string | undefined {
  return (isLoopbackHost(new URL(endpoint).hostname) ? '' : getProxyForUrl(endpoint)) || undefined;
}

/** tng's credentials as the AWS SDK takes them (static: tng, not the SDK, decides when they are renewed). */
export function sdkCredentials(credentials: AwsCredentials): { accessKeyId: string; secretAccessKey: string; sessionToken?: string } {
  return {
    accessKeyId: credentials.accessKeyId,
    secretAccessKey: credentials.secretAccessKey,
    ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken } : {}),
  };
}
