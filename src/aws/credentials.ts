/** Short-lived AWS credentials as tng keeps and hands them out. Times are seconds since the epoch. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** Absent for IAM-user keys (`aws_credential_type = "creds"`). */
  sessionToken?: string;
  issuedAt: number;
  expiresAt: number;
  /** The assumed-role ARN Vault reports, when it does. */
  arn?: string;
  role: string;
  roleArn?: string;
}

/**
 * Cached credentials are reused while at least max(5 minutes, a third of their lifetime) remains,
 * so a child always starts with time to spare and a 15-minute credential is renewed after ~10 minutes.
 */
export function isFreshEnough(credentials: AwsCredentials, nowSeconds: number): boolean {
  const lifetime = credentials.expiresAt - credentials.issuedAt;
  const margin = Math.max(300, lifetime / 3);
  return credentials.expiresAt - nowSeconds >= margin;
}

export function isCredentials(value: unknown): value is AwsCredentials {
  const c = value as AwsCredentials;
  return (
    typeof c === 'object' &&
    c !== null &&
    typeof c.accessKeyId === 'string' &&
    typeof c.secretAccessKey === 'string' &&
    typeof c.expiresAt === 'number' &&
    typeof c.issuedAt === 'number' &&
    typeof c.role === 'string'
  );
}

/** The account id inside an ARN (`arn:aws:sts::123456789012:assumed-role/...`). */
export function accountOf(arn: string | undefined): string | undefined {
  return arn?.split(':')[4] || undefined;
}
