/**
 * The whole local sandbox: a Dex-shaped OIDC provider and a Vault emulator wired together the way an
 * organisation's would be — Vault's JWT auth method trusts the provider's keys, and Vault's OIDC auth
 * method is a confidential client of the provider. Used by the tests and `npm run demo`;
 * `node --import tsx test/sandbox/index.ts` starts it for manual use.
 */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { startOidcSandbox, type OidcSandbox, type OidcSandboxOptions } from './oidc.ts';
import { startAwsServicesSandbox, type AwsServicesSandbox } from './services/index.ts';
import { seedFunctions, type SeededFunctions } from './services/seed.ts';
import { startStsSandbox, type StsSandbox } from './sts.ts';
import { startVaultSandbox, type AwsRole, type JwtRole, type OidcRole, type StaticCredentials, type VaultSandbox, type VaultSandboxOptions } from './vault/index.ts';

export const CLIENT_ID = 'tng';
export const ROLE = 'engineer';
/** Vault's own client at the provider, for Vault's OIDC auth method. */
export const VAULT_CLIENT_ID = 'vault';
const VAULT_CLIENT_SECRET = 'sandbox-vault-client-secret';

/** The Vault role an organisation would configure for tng's Dex client. */
export const ENGINEER_ROLE: JwtRole = {
  role_type: 'jwt',
  bound_audiences: [CLIENT_ID],
  user_claim: 'email',
  groups_claim: 'groups',
  token_policies: ['engineer'],
  token_ttl: '15m',
  token_max_ttl: '1h',
};

/** The same role for Vault's OIDC method, allowing the Vault CLI's callback (any port on localhost). */
export const ENGINEER_OIDC_ROLE: OidcRole = {
  role_type: 'oidc',
  bound_audiences: [VAULT_CLIENT_ID],
  allowed_redirect_uris: ['http://localhost:8250/oidc/callback'],
  oidc_scopes: ['email', 'groups', 'profile'],
  user_claim: 'email',
  groups_claim: 'groups',
  token_policies: ['engineer'],
  token_ttl: '15m',
};

export const AWS_ACCOUNT = '123456789012';
export const DEPLOY_ROLE_ARN = `arn:aws:iam::${AWS_ACCOUNT}:role/deploy`;
/** The AWS secrets engine roles of the sandbox Vault. */
export const AWS_ROLES: Record<string, AwsRole> = {
  deploy: { credential_type: 'assumed_role', role_arns: [DEPLOY_ROLE_ARN], max_sts_ttl: '1h' },
  multi: { credential_type: 'assumed_role', role_arns: [DEPLOY_ROLE_ARN, `arn:aws:iam::${AWS_ACCOUNT}:role/readonly`] },
  'legacy-user': { credential_type: 'iam_user', policy_arns: ['arn:aws:iam::aws:policy/ReadOnlyAccess'] },
  // Credentials that run out after a few seconds, to watch tng's endpoint refresh them.
  'short-lived': { credential_type: 'assumed_role', role_arns: [DEPLOY_ROLE_ARN], sandbox_lifetime_seconds: 4 },
};

/** The Lambda side: the function's execution role, the Vault role bound to it, its policy and secret. */
export const LAMBDA_ROLE_ARN = `arn:aws:iam::${AWS_ACCOUNT}:role/tng-fn-role`;
/** The identity the function's credentials have in AWS (an assumed-role session named after the function). */
export const LAMBDA_SESSION_ARN = `arn:aws:sts::${AWS_ACCOUNT}:assumed-role/tng-fn-role/tng-fn`;
export const LAMBDA_VAULT_ROLE = 'tng-fn';
export const LAMBDA_SECRET = { mount: 'secret', path: 'tng-fn/config', data: { greeting: 'hello from Vault', db_password: 'sandbox-db-password' } };

export interface Sandbox {
  issuer: string;
  vaultAddr: string;
  /** The callback port registered at the provider for Vault's OIDC method (redirect_port for tng). */
  vaultOidcPort: number;
  /** STS that answers GetCallerIdentity for credentials the sandbox Vault issued (AWS_ENDPOINT_URL_STS). */
  stsUrl: string;
  /** Lambda, SQS and SNS on one port (AWS_ENDPOINT_URL, or _LAMBDA / _SQS / _SNS), seeded with `functions`. */
  awsUrl: string;
  oidc: OidcSandbox;
  vault: VaultSandbox;
  sts: StsSandbox;
  aws: AwsServicesSandbox;
  functions: SeededFunctions;
  /** The Lambda function's own credentials (what its environment holds); Vault's AWS auth role LAMBDA_VAULT_ROLE is bound to its role. */
  lambdaCredentials: StaticCredentials;
  close(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Vault's JWT auth method bound to the provider, as in the Terraform template. */
export function jwtMount(issuer: string): NonNullable<VaultSandboxOptions['jwt']> {
  return {
    mount: 'jwt',
    oidc_discovery_url: issuer,
    bound_issuer: issuer,
    roles: {
      [ROLE]: ENGINEER_ROLE,
      // Bound to another client: an ID token minted for tng is refused (audience mismatch).
      'other-audience': { ...ENGINEER_ROLE, bound_audiences: ['some-other-client'] },
    },
  };
}

export async function startSandbox(options: { oidc?: OidcSandboxOptions; vault?: Pick<VaultSandboxOptions, 'tls' | 'publicHost'> } = {}): Promise<Sandbox> {
  const vaultOidcPort = await freePort();
  // Device-code polls every second instead of Dex's five, so tests and the demo stay quick.
  const oidc = await startOidcSandbox({
    deviceIntervalSeconds: 1,
    ...options.oidc,
    extraClients: [
      // Dex matches a confidential client's redirect URIs exactly, port included.
      { client_id: VAULT_CLIENT_ID, client_secret: VAULT_CLIENT_SECRET, redirect_uris: [`http://localhost:${vaultOidcPort}/oidc/callback`] },
      ...(options.oidc?.extraClients ?? []),
    ],
  });
  const vault = await startVaultSandbox({
    ...options.vault,
    jwt: jwtMount(oidc.issuer),
    oidc: {
      mount: 'oidc',
      oidc_discovery_url: oidc.issuer,
      oidc_client_id: VAULT_CLIENT_ID,
      oidc_client_secret: VAULT_CLIENT_SECRET,
      bound_issuer: oidc.issuer,
      roles: { [ROLE]: ENGINEER_OIDC_ROLE },
    },
    aws: { mount: 'aws', account: AWS_ACCOUNT, roles: AWS_ROLES },
  });
  const sts = await startStsSandbox({ registry: vault.awsCredentials });
  // Vault's AWS auth method replays logins to the STS sandbox, as a real Vault configured with sts_endpoint would.
  vault.setAwsAuthConfig({ sts_endpoint: sts.url });
  vault.setAwsAuthRole(LAMBDA_VAULT_ROLE, { auth_type: 'iam', bound_iam_principal_arn: [LAMBDA_ROLE_ARN], token_policies: ['tng-fn'], token_ttl: '1h', token_max_ttl: '4h' });
  vault.setPolicy('tng-fn', { 'secret/data/tng-fn/*': ['read'] });
  vault.putKv(LAMBDA_SECRET.path, LAMBDA_SECRET.data, LAMBDA_SECRET.mount);
  const lambdaCredentials = vault.awsCredentials.addStatic({ arn: LAMBDA_SESSION_ARN });
  const aws = await startAwsServicesSandbox({ registry: vault.awsCredentials, account: AWS_ACCOUNT });
  const functions = seedFunctions(aws);
  return {
    issuer: oidc.issuer,
    vaultAddr: vault.addr,
    vaultOidcPort,
    stsUrl: sts.url,
    awsUrl: aws.url,
    oidc,
    vault,
    sts,
    aws,
    functions,
    lambdaCredentials,
    close: async () => {
      await Promise.allSettled([vault.close(), oidc.close(), sts.close(), aws.close()]);
    },
  };
}

const isMain = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  const sandbox = await startSandbox();
  process.stdout.write(`issuer     ${sandbox.issuer}\nvault_addr ${sandbox.vaultAddr}\nclient_id  ${CLIENT_ID}\nvault_role ${ROLE}\n`);
  process.stdout.write(`sts_url    ${sandbox.stsUrl} (AWS_ENDPOINT_URL_STS; aws_role deploy)\n`);
  process.stdout.write(`aws_url    ${sandbox.awsUrl} (AWS_ENDPOINT_URL for Lambda, SQS, SNS; functions ${sandbox.functions.hardened}, ${sandbox.functions.weak})\n`);
  process.stdout.write(`Vault's OIDC method: vault_auth = "oidc", redirect_port = ${sandbox.vaultOidcPort}\n`);
  process.stdout.write('Users: alice@example.com / password, bob@example.com / password. Ctrl-C to stop.\n');
  process.on('SIGINT', () => void sandbox.close().then(() => process.exit(0)));
}
