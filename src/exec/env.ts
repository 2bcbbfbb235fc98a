import type { AwsCredentials } from '../aws/credentials.ts';

/** Inherited variables that would compete with the credentials tng provides (see the AWS SDKs' chains). */
export const CONFLICTING_AWS_VARIABLES = [
  'AWS_PROFILE',
  'AWS_DEFAULT_PROFILE',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  // The older names some SDKs (Java v1, Ruby) still read before container credentials.
  'AWS_ACCESS_KEY',
  'AWS_SECRET_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_SECURITY_TOKEN',
  'AWS_CREDENTIAL_EXPIRATION',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_ROLE_ARN',
  'AWS_ROLE_SESSION_NAME',
];

export interface ChildEnvInput {
  inherited: NodeJS.ProcessEnv;
  profile: string;
  auditId: string;
  vault?: { addr: string; token: string; namespace?: string };
  aws?:
    | { mode: 'endpoint'; url: string; authorization: string; region?: string }
    | { mode: 'static'; credentials: AwsCredentials; region?: string };
}

/** The child's environment: everything inherited, competing AWS settings out, tng's credentials in. */
export function childEnvironment(input: ChildEnvInput): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...input.inherited };
  if (input.vault) {
    env.VAULT_ADDR = input.vault.addr;
    env.VAULT_TOKEN = input.vault.token;
    // An inherited namespace would be sent with the session's token, which belongs to the profile's own.
    if (input.vault.namespace) env.VAULT_NAMESPACE = input.vault.namespace;
    else delete env.VAULT_NAMESPACE;
  }
  if (input.aws) {
    for (const name of CONFLICTING_AWS_VARIABLES) delete env[name];
    if (input.aws.mode === 'endpoint') {
      env.AWS_CONTAINER_CREDENTIALS_FULL_URI = input.aws.url;
      env.AWS_CONTAINER_AUTHORIZATION_TOKEN = input.aws.authorization;
    } else {
      const { credentials } = input.aws;
      env.AWS_ACCESS_KEY_ID = credentials.accessKeyId;
      env.AWS_SECRET_ACCESS_KEY = credentials.secretAccessKey;
      if (credentials.sessionToken) env.AWS_SESSION_TOKEN = credentials.sessionToken;
      env.AWS_CREDENTIAL_EXPIRATION = new Date(credentials.expiresAt * 1000).toISOString();
    }
    if (input.aws.region) {
      env.AWS_REGION = input.aws.region;
      env.AWS_DEFAULT_REGION = input.aws.region;
    }
  }
  env.TNG_PROFILE = input.profile;
  env.TNG_AUDIT_ID = input.auditId;
  return env;
}
