// The sandbox Vault: an emulation of the parts of HashiCorp Vault's HTTP API that tng uses, written from
// Vault's published API documentation, for tests and demos.
//
//   const vault = await startVaultSandbox({ jwt: { oidc_discovery_url: issuer, bound_issuer: issuer } });
//   vault.setJwtRole('tng', { role_type: 'jwt', user_claim: 'email', bound_audiences: ['tng'] });
//   ... VAULT_ADDR=vault.addr ...
//   await vault.close();
//
// From a shell: `node --import tsx test/sandbox/vault/index.ts --issuer URL [--port N]
//   [--role NAME --audience CLIENT_ID [--user-claim email] [--policy P]...]` prints the address and
// serves until interrupted. The /__sandbox/ control endpoints are listed in control.ts.
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { pathToFileURL } from 'node:url';
import { SandboxCore } from './core.ts';
import type { FaultRule, RequestRecord, TokenView } from './core.ts';
import type { JwtRole } from './backends/jwt.ts';
import type { OidcRole } from './backends/oidc.ts';
import type { AwsCredentialRegistry, AwsRole } from './backends/aws.ts';
import type { AwsAuthMountConfig, AwsAuthRole } from './backends/aws-auth.ts';
import type { PolicyRules } from './acl.ts';
import { createHandler } from './server.ts';
import { closerOf, listenOnLoopback } from '../listen.ts';

export type { JwtRole } from './backends/jwt.ts';
export type { OidcRole } from './backends/oidc.ts';
export type { AwsCredentialRecord, AwsCredentialRegistry, AwsCredentialType, AwsRole, IssuedAwsCredential, StaticCredentials, StaticIdentity } from './backends/aws.ts';
export type { AwsAuthMountConfig, AwsAuthRole } from './backends/aws-auth.ts';
export type { Capability, PolicyRules } from './acl.ts';
export type { FaultRule, RequestRecord, TokenView } from './core.ts';

export interface VaultSandboxOptions {
  /** Default: a random free port on 127.0.0.1. */
  port?: number;
  /** Serve HTTPS with this certificate (e.g. from createTestPki() in ../tls.ts) instead of plain HTTP. */
  tls?: { certPem: string; keyPem: string };
  /** The host name `addr` uses (e.g. a name only a proxy sandbox resolves). Default "127.0.0.1"; the server still listens on 127.0.0.1. */
  publicHost?: string;
  jwt?: {
    /** Default "jwt" (mounted at auth/jwt/). */
    mount?: string;
    oidc_discovery_url?: string;
    bound_issuer?: string;
    jwks_url?: string;
    roles?: Record<string, JwtRole>;
  };
  /**
   * Vault's OIDC auth method (the browser flow: oidc/auth_url, oidc/callback), with Vault as the OIDC
   * client of the provider at `oidc_discovery_url` (e.g. the OIDC sandbox with a confidential client in
   * `extraClients`). No OIDC mount without this.
   */
  oidc?: {
    /** Default "oidc" (mounted at auth/oidc/). */
    mount?: string;
    /** The provider's issuer. */
    oidc_discovery_url: string;
    oidc_client_id: string;
    oidc_client_secret: string;
    /** Checked by `login` (jwt roles) on this mount; the browser flow checks the discovered issuer. */
    bound_issuer?: string;
    /** The role auth_url (and login) use when the request names none. */
    default_role?: string;
    roles?: Record<string, OidcRole>;
  };
  /** Vault's AWS secrets engine (creds/<role>, sts/<role>). No AWS mount without this (or setAwsRole()). */
  aws?: {
    /** Default "aws". */
    mount?: string;
    roles?: Record<string, AwsRole>;
    /** The AWS account of issued credentials; default "123456789012". */
    account?: string;
    /** Answer like Vault < 1.16: STS credentials only as `security_token` (no `session_token`). */
    legacySecurityTokenOnly?: boolean;
    /** The AWS side: MaxSessionDuration of the IAM roles assumed (1h–12h); default 1h. */
    maxSessionDuration?: number | string;
  };
  /**
   * Vault's AWS auth method (iam type) at auth/<mount>/: logins replay their signed GetCallerIdentity to
   * `config.sts_endpoint` (e.g. the STS sandbox's URL; settable later with setAwsAuthConfig()).
   */
  awsAuth?: {
    /** Default "aws" (mounted at auth/aws/). */
    mount?: string;
    config?: AwsAuthMountConfig;
    roles?: Record<string, AwsAuthRole>;
  };
  /** A KV version 2 engine, seeded with `secrets` (path → data). */
  kv?: {
    /** Default "secret". */
    mount?: string;
    secrets?: Record<string, Record<string, unknown>>;
  };
  /** ACL policies by name (only the KV engine enforces them; see acl.ts). */
  policies?: Record<string, PolicyRules>;
}

export interface VaultSandbox {
  /** http://<publicHost>:<port> (https:// with `tls`); publicHost defaults to 127.0.0.1 */
  addr: string;
  port: number;
  /** Creates or replaces a role at auth/<mount>/ (default "jwt"); an unknown mount is created. */
  setJwtRole(name: string, role: JwtRole, mount?: string): void;
  /**
   * Creates or replaces a role at auth/<mount>/ (default: the `oidc` option's mount, else "oidc"); an
   * unknown mount is created with the `oidc` option's config. Throws without an `oidc` option.
   */
  setOidcRole(name: string, role: OidcRole, mount?: string): void;
  /** Creates or replaces a role of the AWS secrets engine at <mount>/ (default: the `aws` option's mount, else "aws"); an unknown mount is created. */
  setAwsRole(name: string, role: AwsRole, mount?: string): void;
  /**
   * Every AWS credential issued (by all AWS mounts): `issued()`, `issuanceCount(role?)`,
   * `expireCredentials(accessKeyId?)`, plus `addStatic()` for identities Vault did not issue (a Lambda
   * function's role). Pass it to startStsSandbox({ registry }).
   */
  awsCredentials: AwsCredentialRegistry;
  /** Sets (merges) the config of the AWS auth method at auth/<mount>/ (default: the `awsAuth` option's mount, else "aws"), mounting it if needed. */
  setAwsAuthConfig(config: AwsAuthMountConfig, mount?: string): void;
  /** Creates or replaces a role of the AWS auth method; an unknown mount is created. */
  setAwsAuthRole(name: string, role: AwsAuthRole, mount?: string): void;
  /** Creates or replaces an ACL policy. */
  setPolicy(name: string, rules: PolicyRules): void;
  /** Writes a KV v2 secret (no policy check) at <mount>/data/<path> (default mount: the `kv` option's, else "secret"); returns its version. */
  putKv(path: string, data: Record<string, unknown>, mount?: string): number;
  /** Ages the pending OIDC logins (auth_url states) of a mount, or of all mounts, past Vault's 10 minutes. */
  expireOidcStates(mount?: string): void;
  /** Shifts the time the sandbox reports (every Date header, sys/health server_time_utc) by `seconds`; 0 undoes it. */
  setClockSkew(seconds: number): void;
  seal(): void;
  unseal(): void;
  setStandby(standby: boolean): void;
  fault(rule: FaultRule): void;
  clearFaults(): void;
  /** Every /v1 request seen, in order of arrival (status 0 while still in flight). */
  requests(): RequestRecord[];
  count(method: string, path: string): number;
  /** Every token issued; no secret token values. */
  tokens(): TokenView[];
  /** Revokes a token "from outside", as an operator would. Throws for an accessor never issued. */
  revokeAccessor(accessor: string): void;
  close(): Promise<void>;
}

export async function startVaultSandbox(options: VaultSandboxOptions = {}): Promise<VaultSandbox> {
  const jwt = options.jwt ?? {};
  const core = new SandboxCore({
    ...(jwt.oidc_discovery_url !== undefined ? { oidc_discovery_url: jwt.oidc_discovery_url } : {}),
    ...(jwt.bound_issuer !== undefined ? { bound_issuer: jwt.bound_issuer } : {}),
    ...(jwt.jwks_url !== undefined ? { jwks_url: jwt.jwks_url } : {}),
  });
  const mount = jwt.mount ?? 'jwt';
  core.addJwtMount(mount);
  for (const [name, role] of Object.entries(jwt.roles ?? {})) core.setJwtRole(name, role, mount);
  const oidcMount = options.oidc?.mount ?? 'oidc';
  if (options.oidc) {
    const { mount: _mount, roles, ...config } = options.oidc;
    core.addOidcMount(oidcMount, config);
    for (const [name, role] of Object.entries(roles ?? {})) core.setOidcRole(name, role, oidcMount);
  }
  const awsMount = options.aws?.mount ?? 'aws';
  if (options.aws) {
    const { mount: _mount, roles, ...config } = options.aws;
    core.addAwsMount(awsMount, config);
    for (const [name, role] of Object.entries(roles ?? {})) core.setAwsRole(name, role, awsMount);
  }
  const awsAuthMount = options.awsAuth?.mount ?? 'aws';
  if (options.awsAuth) {
    core.addAwsAuthMount(awsAuthMount, options.awsAuth.config ?? {});
    for (const [name, role] of Object.entries(options.awsAuth.roles ?? {})) core.setAwsAuthRole(name, role, awsAuthMount);
  }
  for (const [name, rules] of Object.entries(options.policies ?? {})) core.policies.set(name, rules);
  const kvMount = options.kv?.mount ?? 'secret';
  if (options.kv) {
    core.addKvMount(kvMount);
    for (const [path, data] of Object.entries(options.kv.secrets ?? {})) core.putKv(path, data, kvMount);
  }

  const handler = createHandler(core);
  const server = options.tls ? createHttpsServer({ cert: options.tls.certPem, key: options.tls.keyPem }, handler) : createServer(handler);
  server.keepAliveTimeout = 5000;
  // Every response's Date header tells the sandbox's (possibly skewed) time; Node adds none when one is set.
  server.prependListener('request', (_req, res) => res.setHeader('Date', core.httpDate()));
  const port = await listenOnLoopback(server, options.port);

  return {
    addr: `${options.tls ? 'https' : 'http'}://${publicHost(options.publicHost ?? '127.0.0.1')}:${port}`,
    port,
    setJwtRole: (name, role, m = mount) => core.setJwtRole(name, role, m),
    setOidcRole: (name, role, m = oidcMount) => core.setOidcRole(name, role, m),
    setAwsRole: (name, role, m = awsMount) => core.setAwsRole(name, role, m),
    awsCredentials: core.awsCredentials,
    setAwsAuthConfig: (config, m = awsAuthMount) => {
      core.addAwsAuthMount(m, config);
    },
    setAwsAuthRole: (name, role, m = awsAuthMount) => core.setAwsAuthRole(name, role, m),
    setPolicy: (name, rules) => core.policies.set(name, rules),
    putKv: (path, data, m = kvMount) => core.putKv(path, data, m),
    expireOidcStates: (m) => {
      core.expireOidcStates(m);
    },
    setClockSkew: (seconds) => {
      core.clockSkewSeconds = seconds;
    },
    seal: () => {
      core.node.sealed = true;
    },
    unseal: () => {
      core.node.sealed = false;
    },
    setStandby: (standby) => {
      core.node.standby = standby;
    },
    fault: (rule) => core.addFault(rule),
    clearFaults: () => core.clearFaults(),
    requests: () => core.requests(),
    count: (method, path) => core.count(method, path),
    tokens: () => core.tokenViews(),
    revokeAccessor: (accessor) => {
      if (!core.revokeAccessor(accessor)) throw new Error(`no token has accessor "${accessor}"`);
    },
    close: closerOf(server),
  };
}

/** An IPv6 literal needs brackets in a URL. */
function publicHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** Command line: see the header comment. */
async function main(argv: string[]): Promise<void> {
  const values = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('--')) throw new Error(`unexpected argument "${arg}"`);
    const [key, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const value = inline ?? argv[++i];
    if (value === undefined) throw new Error(`--${key} needs a value`);
    values.set(key, [...(values.get(key) ?? []), value]);
  }
  const one = (key: string): string | undefined => values.get(key)?.at(-1);
  const issuer = one('issuer');
  const port = one('port');
  const sandbox = await startVaultSandbox({
    ...(port !== undefined ? { port: Number(port) } : {}),
    jwt: issuer ? { oidc_discovery_url: issuer, bound_issuer: issuer } : {},
  });
  const role = one('role');
  if (role) {
    sandbox.setJwtRole(role, {
      role_type: 'jwt',
      user_claim: one('user-claim') ?? 'email',
      groups_claim: 'groups',
      bound_audiences: values.get('audience') ?? [],
      token_policies: values.get('policy') ?? [],
    });
  }
  process.stdout.write(`${sandbox.addr}\n`);
  const stop = (): void => {
    void sandbox.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(entry).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`vault sandbox: ${(err as Error).message}\n`);
    process.exit(2);
  });
}
