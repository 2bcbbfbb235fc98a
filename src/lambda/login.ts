import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity } from './types.ts';

const BODY = 'Action=GetCallerIdentity&Version=2011-06-15';
const CONTENT_TYPE = 'application/x-www-form-urlencoded; charset=utf-8';

export interface StsTarget {
  /** The URL signed and named in `iam_request_url`; Vault replays the request keeping its host and path. */
  url: URL;
  region: string;
}

/** The global endpoint (us-east-1) unless a region or an endpoint is given. */
export function stsTarget(options: { region?: string; stsEndpoint?: string }): StsTarget {
  const region = options.region || 'us-east-1';
  if (options.stsEndpoint) return { url: new URL(options.stsEndpoint), region };
  return { url: new URL(options.region ? `https://sts.${options.region}.amazonaws.com/` : 'https://sts.amazonaws.com/'), region };
}

/** "x-amz-date" → "X-Amz-Date", as Go's http.Header writes names (what Vault's own client sends). */
function headerName(lower: string): string {
  return lower.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase());
}

const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

/**
 * The body of `POST auth/<mount>/login` for Vault's AWS auth method, iam type: a GetCallerIdentity request
 * signed with SigV4 (service sts) by the function's own credentials, encoded as Vault expects it.
 */
export async function iamLoginPayload(input: {
  role: string;
  target: StsTarget;
  credentials: AwsCredentialIdentity;
  iamServerId?: string;
  now?: Date;
}): Promise<Record<string, string>> {
  const { url, region } = input.target;
  const signer = new SignatureV4({ service: 'sts', region, credentials: input.credentials, sha256: Sha256, applyChecksum: false });
  const headers: Record<string, string> = { host: url.host, 'content-type': CONTENT_TYPE };
  if (input.iamServerId) headers['x-vault-aws-iam-server-id'] = input.iamServerId;
  const signed = await signer.sign(
    {
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query: {},
      headers,
      body: BODY,
    },
    { signingDate: input.now ?? new Date() },
  );
  const map: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(signed.headers)) map[headerName(name.toLowerCase())] = [String(value)];
  return {
    role: input.role,
    iam_http_request_method: 'POST',
    iam_request_url: base64(url.href),
    iam_request_body: base64(BODY),
    iam_request_headers: base64(JSON.stringify(map)),
  };
}
