import { TngError, describe, usageError } from '../errors.ts';
import type { VaultClient } from '../vault/client.ts';
import type { AwsCredentials } from './credentials.ts';

export interface IssueRequest {
  mount: string;
  role: string;
  type: 'sts' | 'creds';
  ttlSeconds: number;
  roleArn?: string;
  /** `tng-<audit id>`, so CloudTrail names the audit entry. */
  sessionName: string;
}

interface AwsSecretResponse {
  lease_duration?: number;
  data?: {
    access_key?: string;
    secret_key?: string;
    session_token?: string | null;
    security_token?: string | null;
    arn?: string;
    ttl?: number;
  };
}

/**
 * Issues credentials at Vault's AWS secrets engine: `POST <mount>/sts/<role>` for STS credentials,
 * `GET <mount>/creds/<role>` for IAM-user keys. Vault returns no expiry, so it is now + the lease.
 */
export async function issueAwsCredentials(vault: VaultClient, token: string, request: IssueRequest, nowSeconds: number): Promise<AwsCredentials> {
  const path = `${request.mount}/${request.type}/${request.role}`;
  const response =
    request.type === 'sts'
      ? await vault.awsWrite<AwsSecretResponse>(token, path, {
          ttl: `${request.ttlSeconds}s`,
          role_session_name: request.sessionName.slice(0, 64),
          ...(request.roleArn ? { role_arn: request.roleArn } : {}),
        })
      : await vault.awsRead<AwsSecretResponse>(token, path);
  const data = typeof response?.data === 'object' && response.data !== null ? response.data : undefined;
  // Vault's answer is checked, not trusted: a lifetime that is not a sane number of seconds, or keys that
  // are not strings, would otherwise turn into a wrong expiry or a credential the SDKs cannot use. Vault
  // counts whole seconds; anything under one would make credentials that expire as they are issued.
  const seconds = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) && value >= 1 && value < 1e10 ? Math.floor(value) : 0);
  const lifetime = seconds(response?.lease_duration) || seconds(data?.ttl);
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
  if (!text(data?.access_key) || !text(data?.secret_key) || lifetime <= 0 || !data) {
    throw new TngError('unavailable', 'aws.malformed', `Vault's answer at ${path} carries no usable AWS credentials.`, {
      hint: 'Check the AWS secrets engine role with your Vault operators.',
    });
  }
  const sessionToken = text(data.session_token) ?? text(data.security_token);
  if (request.type === 'sts' && !sessionToken) {
    throw new TngError('unavailable', 'aws.malformed', `Vault issued STS credentials at ${path} without a session token.`, {
      hint: 'Check the role\'s credential_type (assumed_role, federation_token or session_token) with your Vault operators.',
    });
  }
  return {
    accessKeyId: data.access_key as string,
    secretAccessKey: data.secret_key as string,
    sessionToken,
    issuedAt: nowSeconds,
    expiresAt: nowSeconds + lifetime,
    arn: typeof data.arn === 'string' ? data.arn : undefined,
    role: request.role,
    roleArn: request.roleArn,
  };
}

/** A refused TTL is a usage error carrying Vault's reason (exit 2), as the contract says. */
export function ttlRefused(error: unknown, ttlSeconds: number): TngError | undefined {
  if (!(error instanceof TngError) || error.kind !== 'usage') return undefined;
  if (!/ttl|duration/i.test(describe(error))) return undefined;
  const hint = /minimum/i.test(describe(error))
    ? 'Ask for a longer --ttl (or aws_ttl): STS issues credentials for at least 15m.'
    : 'Ask for a shorter --ttl (or aws_ttl), within the role\'s max_sts_ttl.';
  return usageError('aws.ttl-refused', `Vault refused a ${ttlSeconds}s lifetime for AWS credentials: ${error.message}`, hint, error);
}
