/** AWS credentials as the AWS SDK's providers resolve them (structurally @smithy/types' AwsCredentialIdentity). */
export interface AwsCredentialIdentity {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

/** A function that resolves AWS credentials, e.g. `defaultProvider()` of @aws-sdk/credential-provider-node. */
export type AwsCredentialIdentityProvider = () => Promise<AwsCredentialIdentity>;

export interface LambdaVaultOptions {
  /** Vault's address; default `VAULT_ADDR`. */
  address?: string;
  /** Role at the AWS auth method (auth_type iam); default `VAULT_AUTH_ROLE`. */
  role?: string;
  /** Mount path of the AWS auth method; default "aws". */
  authMount?: string;
  /** Sent as X-Vault-Namespace; default `VAULT_NAMESPACE`. */
  namespace?: string;
  /** Sent, signed, as X-Vault-AWS-IAM-Server-ID (the mount's iam_server_id_header_value). */
  iamServerId?: string;
  /** Sign for this region's STS endpoint; default: the global endpoint sts.amazonaws.com (us-east-1). */
  region?: string;
  /** The function's AWS credentials; default: the AWS SDK's default provider chain (the Lambda environment). */
  credentials?: AwsCredentialIdentityProvider;
  fetch?: typeof fetch;
  /** Log in again this long before the Vault token's lease ends (at most half the lease); default 60. */
  renewBeforeSeconds?: number;
  /** The STS URL to sign (and that Vault replays to its own sts_endpoint keeping this host); overrides `region`'s. */
  stsEndpoint?: string;
}

export interface LambdaVaultClient {
  /** A Vault token, logging in (once, however many callers wait) when there is none or it is about to end. */
  token(): Promise<string>;
  /** A KV v2 secret: `GET <mount>/data/<path>` → its `data.data`. */
  readKv<T = Record<string, unknown>>(mount: string, path: string): Promise<T>;
}
