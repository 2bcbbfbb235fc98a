/**
 * `tng/lambda`: Vault for Lambda code, with no secret in the function. The function logs in with Vault's
 * AWS auth method (iam type) by signing an sts:GetCallerIdentity request with its own role credentials;
 * Vault replays it to STS and maps the role to a Vault role. Imports nothing from the tng CLI.
 *
 *   import { createVaultClient } from 'tng/lambda';
 *   const vault = createVaultClient({ role: 'my-function' });   // module level: the token outlives invocations
 *   export const handler = async () => { const db = await vault.readKv('secret', 'app/db'); … };
 */
export { createVaultClient } from './client.ts';
export {
  AwsCredentialsError,
  LambdaVaultError,
  SecretNotFoundError,
  VaultConfigError,
  VaultLoginError,
  VaultRequestError,
  VaultUnavailableError,
} from './errors.ts';
export type { AwsCredentialIdentity, AwsCredentialIdentityProvider, LambdaVaultClient, LambdaVaultOptions } from './types.ts';
