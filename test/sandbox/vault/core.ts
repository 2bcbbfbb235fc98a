// The sandbox's state: the mount table with its backends, the token store, the node's seal/standby
// state, injected faults and the log of requests seen. The HTTP layer (server.ts) drives it.
import { PolicyStore } from './acl.ts';
import { uuid } from './ids.ts';
import { Router } from './router.ts';
import { AwsBackend, AwsCredentialRegistry } from './backends/aws.ts';
import type { AwsMountConfig, AwsRole } from './backends/aws.ts';
import { AwsAuthBackend } from './backends/aws-auth.ts';
import type { AwsAuthMountConfig, AwsAuthRole } from './backends/aws-auth.ts';
import { KvV2Backend } from './backends/kv.ts';
import { JwtBackend } from './backends/jwt.ts';
import type { JwtMountConfig, JwtRole } from './backends/jwt.ts';
import { OidcBackend } from './backends/oidc.ts';
import type { OidcMountConfig, OidcRole } from './backends/oidc.ts';
import { SysBackend } from './backends/sys.ts';
import type { NodeState } from './backends/sys.ts';
import { TokenBackend } from './backends/token.ts';
import { TokenStore } from './tokens.ts';

export interface FaultRule {
  /** Path prefix after /v1/ (namespace-relative or as sent), e.g. "auth/jwt/login". */
  path: string;
  /** Only requests with this HTTP method (case-insensitive); any method when absent. */
  method?: string;
  /** Answer with this status; without it the fault only delays. */
  status?: number;
  /** How many requests the rule affects; unlimited when absent. */
  times?: number;
  /** Wait this long before answering (or before normal handling when there is no status). */
  delayMs?: number;
  /** Body to send with `status`, as JSON; default `{"errors":["sandbox fault: HTTP <status>"]}`. */
  body?: unknown;
}

export interface RequestRecord {
  method: string;
  path: string;
  status: number;
  namespace?: string;
}

export interface TokenView {
  accessor: string;
  policies: string[];
  revoked: boolean;
  expiresAt: number;
  displayName: string;
}

interface ActiveFault extends FaultRule {
  remaining: number;
}

/** Strips slashes and a leading "v1/" so "/v1/auth/jwt/login" and "auth/jwt/login" mean the same. */
export function normalizeApiPath(path: string): string {
  return path.replace(/^\/+/, '').replace(/^v1\//, '').replace(/\/+$/, '');
}

export function normalizeNamespace(ns: string | undefined): string {
  return (ns ?? '').split('/').filter((s) => s !== '').join('/');
}

export class SandboxCore {
  readonly router = new Router();
  readonly tokens = new TokenStore();
  readonly node: NodeState = {
    initialized: true,
    sealed: false,
    standby: false,
    performanceStandby: false,
    // Namespaces are an Enterprise feature, so the sandbox presents itself as Enterprise.
    version: '1.18.3+ent',
    clusterName: 'vault-cluster-sandbox',
    clusterId: uuid(),
    enterprise: true,
    clockSkewSeconds: 0,
  };
  private readonly jwtMounts = new Map<string, JwtBackend>();
  private readonly oidcMounts = new Map<string, OidcBackend>();
  private readonly awsMounts = new Map<string, AwsBackend>();
  private readonly awsAuthMounts = new Map<string, AwsAuthBackend>();
  private readonly kvMounts = new Map<string, KvV2Backend>();
  /** Every credential any AWS secrets engine mount has issued (the STS sandbox verifies against it). */
  readonly awsCredentials = new AwsCredentialRegistry();
  /** ACL policies; only the KV engine enforces them. */
  readonly policies = new PolicyStore();
  /** Config for OIDC mounts created on demand by setOidcRole(); set by the first addOidcMount(). */
  private defaultOidcConfig?: OidcMountConfig;
  private faults: ActiveFault[] = [];
  private readonly log: RequestRecord[] = [];

  constructor(private readonly defaultJwtConfig: JwtMountConfig = {}) {
    this.router.mount('sys', new SysBackend(this.node));
    this.router.mount('auth/token', new TokenBackend(this.tokens));
  }

  /** Mounts a JWT auth method at auth/<name>/ (default config: the one given to the sandbox). */
  addJwtMount(name: string, config: JwtMountConfig = this.defaultJwtConfig): JwtBackend {
    const key = normalizeApiPath(name);
    if (key === '' || key === 'token') throw new Error(`invalid JWT mount name "${name}"`);
    const existing = this.jwtMounts.get(key);
    if (existing) return existing;
    const backend = new JwtBackend(key, config, this.tokens);
    this.router.mount(`auth/${key}`, backend);
    this.jwtMounts.set(key, backend);
    return backend;
  }

  /**
   * Creates or replaces a role; an unknown mount is created with the sandbox's JWT config. On an OIDC
   * mount (the same plugin in Vault) the role goes to that mount.
   */
  setJwtRole(name: string, role: JwtRole, mount = 'jwt'): void {
    const oidc = this.oidcMounts.get(normalizeApiPath(mount));
    if (oidc) oidc.setRole(name, role);
    else this.addJwtMount(mount).setRole(name, role);
  }

  /** Mounts the OIDC auth method at auth/<name>/ (Vault's JWT/OIDC plugin with the browser flow). */
  addOidcMount(name: string, config: OidcMountConfig): OidcBackend {
    const key = normalizeApiPath(name);
    if (key === '' || key === 'token') throw new Error(`invalid OIDC mount name "${name}"`);
    if (this.jwtMounts.has(key)) throw new Error(`auth/${key}/ is already a JWT mount`);
    const existing = this.oidcMounts.get(key);
    if (existing) return existing;
    if (!config || typeof config.oidc_discovery_url !== 'string' || typeof config.oidc_client_id !== 'string' || typeof config.oidc_client_secret !== 'string') {
      throw new Error('an OIDC mount needs string "oidc_discovery_url", "oidc_client_id" and "oidc_client_secret"');
    }
    const backend = new OidcBackend(key, { ...config }, this.tokens);
    this.router.mount(`auth/${key}`, backend);
    this.oidcMounts.set(key, backend);
    this.defaultOidcConfig ??= { ...config };
    return backend;
  }

  oidcMount(name: string): OidcBackend | undefined {
    return this.oidcMounts.get(normalizeApiPath(name));
  }

  /** Creates or replaces a role; an unknown mount is created with the first OIDC mount's config. */
  setOidcRole(name: string, role: OidcRole, mount = 'oidc'): void {
    let backend = this.oidcMount(mount);
    if (!backend) {
      if (!this.defaultOidcConfig) throw new Error(`no OIDC auth method is mounted at auth/${normalizeApiPath(mount)}/ and there is no OIDC config to mount one with`);
      backend = this.addOidcMount(mount, this.defaultOidcConfig);
    }
    backend.setRole(name, role);
  }

  /** Ages every pending OIDC login (auth_url state) of one mount, or of all, past Vault's 10 minutes. */
  expireOidcStates(mount?: string): number {
    if (mount !== undefined) {
      const backend = this.oidcMount(mount);
      if (!backend) throw new Error(`no OIDC auth method is mounted at auth/${normalizeApiPath(mount)}/`);
      return backend.expirePendingLogins();
    }
    let n = 0;
    for (const backend of this.oidcMounts.values()) n += backend.expirePendingLogins();
    return n;
  }

  /** Mounts the AWS secrets engine at <name>/ (an existing mount is returned as it is). */
  addAwsMount(name: string, config: AwsMountConfig = {}): AwsBackend {
    const key = normalizeApiPath(name);
    if (key === '' || key === 'sys' || key.startsWith('auth/')) throw new Error(`invalid AWS mount name "${name}"`);
    const existing = this.awsMounts.get(key);
    if (existing) return existing;
    const backend = new AwsBackend(key, { ...config }, this.awsCredentials, this.tokens);
    this.router.mount(key, backend);
    this.awsMounts.set(key, backend);
    return backend;
  }

  /** Creates or replaces a role of the AWS secrets engine; an unknown mount is created with the default config. */
  setAwsRole(name: string, role: AwsRole, mount = 'aws'): void {
    (this.awsMounts.get(normalizeApiPath(mount)) ?? this.addAwsMount(mount)).setRole(name, role);
  }

  /** Mounts the AWS auth method at auth/<name>/, or updates the config of the one mounted there. */
  addAwsAuthMount(name: string, config: AwsAuthMountConfig = {}): AwsAuthBackend {
    const key = normalizeApiPath(name);
    if (key === '' || key === 'token' || this.jwtMounts.has(key) || this.oidcMounts.has(key)) throw new Error(`invalid AWS auth mount name "${name}"`);
    const existing = this.awsAuthMounts.get(key);
    if (existing) {
      existing.configure(config);
      return existing;
    }
    const backend = new AwsAuthBackend(key, { ...config }, this.tokens);
    this.router.mount(`auth/${key}`, backend);
    this.awsAuthMounts.set(key, backend);
    return backend;
  }

  /** Creates or replaces a role of the AWS auth method; an unknown mount is created. */
  setAwsAuthRole(name: string, role: AwsAuthRole, mount = 'aws'): void {
    (this.awsAuthMounts.get(normalizeApiPath(mount)) ?? this.addAwsAuthMount(mount)).setRole(name, role);
  }

  /** Mounts a KV version 2 engine at <name>/ (an existing mount is returned as it is). */
  addKvMount(name: string): KvV2Backend {
    const key = normalizeApiPath(name);
    if (key === '' || key === 'sys' || key.startsWith('auth/') || this.awsMounts.has(key)) throw new Error(`invalid KV mount name "${name}"`);
    const existing = this.kvMounts.get(key);
    if (existing) return existing;
    const backend = new KvV2Backend(key, this.policies);
    this.router.mount(key, backend);
    this.kvMounts.set(key, backend);
    return backend;
  }

  /** Writes a KV v2 secret as an operator would; an unknown mount is created. Returns the new version. */
  putKv(path: string, data: Record<string, unknown>, mount = 'secret'): number {
    return (this.kvMounts.get(normalizeApiPath(mount)) ?? this.addKvMount(mount)).put(path, data);
  }

  /** Seconds added to the time the sandbox reports (Date headers, sys/health server_time_utc). */
  get clockSkewSeconds(): number {
    return this.node.clockSkewSeconds;
  }

  set clockSkewSeconds(seconds: number) {
    if (typeof seconds !== 'number' || !Number.isFinite(seconds)) throw new Error('clock skew must be a finite number of seconds');
    this.node.clockSkewSeconds = seconds;
  }

  /** The sandbox's reported time in ms since the epoch: the real time plus the clock skew. */
  now(): number {
    return Date.now() + this.node.clockSkewSeconds * 1000;
  }

  /** The value of the Date header of a response sent now (RFC 9110 IMF-fixdate). */
  httpDate(): string {
    return new Date(this.now()).toUTCString();
  }

  addFault(rule: FaultRule): void {
    if (!rule || typeof rule.path !== 'string') throw new Error('fault rule needs a "path"');
    if (rule.status !== undefined && (!Number.isInteger(rule.status) || rule.status < 200 || rule.status > 999)) {
      throw new Error('fault "status" must be an integer from 200 to 999');
    }
    if (rule.times !== undefined && (!Number.isInteger(rule.times) || rule.times < 1)) throw new Error('fault "times" must be a positive integer');
    if (rule.delayMs !== undefined && !(typeof rule.delayMs === 'number' && rule.delayMs >= 0)) throw new Error('fault "delayMs" must be a number ≥ 0');
    this.faults.push({ ...rule, path: normalizeApiPath(rule.path), remaining: rule.times ?? Number.POSITIVE_INFINITY });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** The first rule matching the request, used up by one (removed when exhausted). */
  takeFault(method: string, paths: string[]): FaultRule | undefined {
    const index = this.faults.findIndex(
      (f) => (f.method === undefined || f.method.toUpperCase() === method.toUpperCase()) && paths.some((p) => p.startsWith(f.path)),
    );
    if (index < 0) return undefined;
    const fault = this.faults[index] as ActiveFault;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults.splice(index, 1);
    return fault;
  }

  record(entry: RequestRecord): RequestRecord {
    this.log.push(entry);
    return entry;
  }

  requests(): RequestRecord[] {
    return this.log.map((r) => ({ ...r }));
  }

  count(method: string, path: string): number {
    const m = method.toUpperCase();
    const p = normalizeApiPath(path);
    return this.log.filter((r) => r.method === m && r.path === p).length;
  }

  tokenViews(): TokenView[] {
    return this.tokens.all().map((t) => ({
      accessor: t.accessor,
      policies: [...t.policies],
      revoked: t.revoked,
      expiresAt: t.expiresAt,
      displayName: t.displayName,
    }));
  }

  revokeAccessor(accessor: string): boolean {
    return this.tokens.revokeAccessor(accessor);
  }
}
