/**
 * Errors of the Lambda helper. Messages say what failed and carry Vault's own error text, never a token,
 * a signature or AWS credentials.
 */
export class LambdaVaultError extends Error {
  override name = 'LambdaVaultError';
  /** The HTTP status Vault answered with, when it answered. */
  readonly status: number | undefined;

  constructor(message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = options.status;
  }
}

/** Missing settings: no Vault address or no role. */
export class VaultConfigError extends LambdaVaultError {
  override name = 'VaultConfigError';
}

/** The function's own AWS credentials could not be found (no role attached, or the provider chain failed). */
export class AwsCredentialsError extends LambdaVaultError {
  override name = 'AwsCredentialsError';
}

/** Vault could not be reached, or did not answer in time. */
export class VaultUnavailableError extends LambdaVaultError {
  override name = 'VaultUnavailableError';
}

/** Vault refused the AWS login (wrong role binding, server-ID header, STS refusing the signature…). */
export class VaultLoginError extends LambdaVaultError {
  override name = 'VaultLoginError';
}

/** Vault refused a request made with the token (e.g. 403 permission denied on a secret). */
export class VaultRequestError extends LambdaVaultError {
  override name = 'VaultRequestError';
}

/** No secret at the path (KV v2 answers 404). */
export class SecretNotFoundError extends VaultRequestError {
  override name = 'SecretNotFoundError';
}
