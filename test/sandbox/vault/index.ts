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
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { SandboxCore } from './core.ts';
import type { FaultRule, RequestRecord, TokenView } from './core.ts';
import type { JwtRole } from './backends/jwt.ts';
import { createHandler } from './server.ts';

export type { JwtRole } from './backends/jwt.ts';
export type { FaultRule, RequestRecord, TokenView } from './core.ts';

export interface VaultSandboxOptions {
  /** Default: a random free port on 127.0.0.1. */
  port?: number;
  jwt?: {
    /** Default "jwt" (mounted at auth/jwt/). */
    mount?: string;
    oidc_discovery_url?: string;
    bound_issuer?: string;
    jwks_url?: string;
    roles?: Record<string, JwtRole>;
  };
}

export interface VaultSandbox {
  /** http://127.0.0.1:<port> */
  addr: string;
  port: number;
  /** Creates or replaces a role at auth/<mount>/ (default "jwt"); an unknown mount is created. */
  setJwtRole(name: string, role: JwtRole, mount?: string): void;
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

  const server = createServer(createHandler(core));
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;

  return {
    addr: `http://127.0.0.1:${port}`,
    port,
    setJwtRole: (name, role, m = mount) => core.setJwtRole(name, role, m),
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
    close: () => {
      closed ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      return closed;
    },
  };
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
