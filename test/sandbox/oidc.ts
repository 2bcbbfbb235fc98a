// The sandbox OIDC provider: a local stand-in for Dex, built on the certified `oidc-provider` (v9).
//
// It reproduces what tng relies on from Dex (see the Dex facts in the shared reference): issuer path `/dex`,
// Dex's endpoint paths and discovery fields, RS256 ID tokens with Dex's claims and an opaque base64 `sub`,
// a static public client `tng` that may redirect to any http loopback URL (any port, any path), PKCE S256 and
// plain, refresh tokens whenever `offline_access` is asked for (no consent screen), rotation on every use with
// the previous token dead at once, one refresh token per (user, client), the device flow with a
// verification page at `/dex/device`, and no revocation or end-session endpoint.
//
// For the fault matrix it can also fail on purpose — `fault()` (delay, status, dropped connection per path),
// `down()` / `up()`, `rotateSigningKey()`, `expireRefreshTokens()` / `revokeRefreshTokens()`, `setClockSkew()` —
// and it records every token, code and client secret it hands out in ./secrets.ts for the hygiene scans.
//
// Run it by hand with `node --import tsx test/sandbox/oidc.ts [--port N]`.

import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { pathToFileURL } from 'node:url';

import { setTimeout as sleep } from 'node:timers/promises';
import { SandboxStore } from './oidc/store.ts';
import { newKeyPair } from './signing-keys.ts';
import { recordSecret } from './secrets.ts';
import {
  deviceCodeInputPage,
  deviceConfirmPage,
  deviceSuccessPage,
  errorPage,
  loginPage,
} from './oidc/pages.ts';
import { listenOnLoopback, stopServer } from './listen.ts';

export interface SandboxUser {
  id: string;
  email: string;
  password: string;
  name: string;
  groups: string[];
}

export interface OidcSandboxOptions {
  /** default: a random free port on 127.0.0.1 */
  port?: number;
  /** default: alice@example.com / "password" (groups engineers, platform) and bob@example.com / "password" (developers) */
  users?: SandboxUser[];
  /** default false: like Dex, no revocation_endpoint in discovery */
  revocation?: boolean;
  /** default 86400 (Dex's 24h); also the access-token lifetime, as in Dex */
  idTokenTtlSeconds?: number;
  /** more static clients, e.g. a confidential client for Vault's own OIDC auth method */
  extraClients?: Array<{ client_id: string; client_secret?: string; redirect_uris?: string[] }>;
  /** `interval` in device authorization responses; default 5 (Dex's value) */
  deviceIntervalSeconds?: number;
}

export interface SandboxStats {
  /** authorization requests started: GET /dex/auth and POST /dex/device/code */
  authorizations: number;
  /** token endpoint requests by grant_type (successful or not) */
  tokens: Record<string, number>;
  /** refresh tokens handed out (by any grant) */
  refreshTokensIssued: number;
}

/** A fault for requests under the issuer: the first rule whose method and path prefix match applies. */
export interface OidcFaultRule {
  /** Path prefix below the issuer, e.g. `/token`, `/keys`, `/.well-known/openid-configuration`; `/` for all. */
  path: string;
  method?: string;
  /** Wait this long before answering (or before the status / drop). */
  delayMs?: number;
  /** Answer with this status and `body` (default `{"error":"server_error",...}`) instead of the provider. */
  status?: number;
  body?: unknown;
  /** Close the connection without an answer. */
  drop?: boolean;
  /** Apply this many times, then the rule is gone (default: until clearFaults()). */
  times?: number;
}

export interface OidcSandbox {
  /** exactly `http://127.0.0.1:<port>/dex` */
  issuer: string;
  port: number;
  stats(): SandboxStats;
  resetStats(): void;
  /** Injects a fault (see OidcFaultRule); control endpoints under /__sandbox/ are never affected. */
  fault(rule: OidcFaultRule): void;
  clearFaults(): void;
  /** Stops listening (the issuer is down: connections are refused) until up(). */
  down(): Promise<void>;
  up(): Promise<void>;
  /**
   * Rotates the signing key: from now on ID tokens are signed with a new key and the JWKS publishes only
   * that one (a harsher rotation than Dex's, which keeps old keys published for a while).
   */
  rotateSigningKey(): void;
  /** The key id ID tokens are signed with now. */
  signingKeyId(): string;
  /** Every stored refresh token runs out now (Dex's validIfNotUsedFor / absoluteLifetime). */
  expireRefreshTokens(): number;
  /** Every stored refresh token is revoked (Dex's admin API RevokeRefresh, or a user signing out elsewhere). */
  revokeRefreshTokens(): number;
  /** Shifts the `Date` header of every response by `seconds`; 0 undoes it. */
  setClockSkew(seconds: number): void;
  close(): Promise<void>;
}

export const SANDBOX_CLIENT_ID = 'tng';

export const DEFAULT_USERS: readonly SandboxUser[] = Object.freeze([
  {
    id: '5b8c1f2e-4d3a-4e6b-9a71-0c2d3e4f5a61',
    email: 'alice@example.com',
    password: 'password',
    name: 'Alice Example',
    groups: ['engineers', 'platform'],
  },
  {
    id: '9e1d7c3b-2a4f-4b8e-8c5d-6f7a8b9c0d12',
    email: 'bob@example.com',
    password: 'password',
    name: 'Bob Example',
    groups: ['developers'],
  },
]);

/** A user with a fresh random id, for tests that need users of their own. */
export function sandboxUser(email: string, groups: string[] = [], password = 'password'): SandboxUser {
  return { id: randomUUID(), email, password, name: email.split('@')[0] ?? email, groups };
}

/** Dex's connector id for its built-in password database. */
const CONNECTOR_ID = 'local';
const MOUNT = '/dex';
const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const REFRESH_TOKEN_LIFETIME = 90 * 24 * 3600;

/**
 * Dex's `sub`: base64url (no padding) of the protobuf message {1: user id, 2: connector id}.
 * Both strings are short (< 128 bytes), so each length fits in one varint byte.
 */
export function dexSubject(userId: string, connectorId = CONNECTOR_ID): string {
  const field = (tag: number, value: string) => {
    const bytes = Buffer.from(value, 'utf8');
    if (bytes.length > 127) throw new Error('sandbox: user id too long for a one-byte length');
    return Buffer.concat([Buffer.from([tag, bytes.length]), bytes]);
  };
  return Buffer.concat([field(0x0a, userId), field(0x12, connectorId)]).toString('base64url');
}

/** Dex's rule for a public client without redirect URIs: any http URL on localhost or a loopback IP. */
export function isLoopbackHttpRedirect(value: string): boolean {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return false;
  }
  if (u.protocol !== 'http:' || u.username || u.password || u.hash) return false;
  const host = u.hostname;
  if (host === 'localhost' || host === '[::1]') return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

// ---- the slice of oidc-provider's API used here (the package ships no type declarations) ----

interface KoaContext {
  method: string;
  path: string;
  status: number;
  body: unknown;
  type: string;
  oidc?: {
    params?: Record<string, unknown>;
    body?: Record<string, unknown>;
    client?: { clientId: string };
  };
  response: { get(field: string): string };
  set(field: string, value: string): void;
}
type KoaNext = () => Promise<void>;

interface InteractionDetails {
  uid: string;
  prompt: { name: string; reasons: string[]; details: Record<string, unknown> };
  params: Record<string, unknown>;
  grantId?: string;
  session?: { accountId?: string };
}

interface GrantInstance {
  addOIDCScope(scope: string): void;
  addOIDCClaims(claims: string[]): void;
  save(): Promise<string>;
}

interface ProviderInstance {
  Client: { prototype: { redirectUriAllowed(this: { clientId: string }, value: string): boolean } };
  Grant: {
    new (init: { accountId: string; clientId: string }): GrantInstance;
    find(id: string): Promise<GrantInstance | undefined>;
  };
  use(fn: (ctx: KoaContext, next: KoaNext) => Promise<void>): void;
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
  interactionFinished(
    req: IncomingMessage,
    res: ServerResponse,
    result: Record<string, unknown>,
    options?: { mergeWithLastSubmission?: boolean },
  ): Promise<void>;
  on(event: string, listener: (...args: unknown[]) => void): void;
  silent: boolean;
}

interface CheckInstance {
  reason: string;
}

interface PromptPolicy extends Array<{ name: string; checks: CheckInstance[] }> {
  get(name: string): { name: string; checks: CheckInstance[] } | undefined;
}

interface ProviderModule {
  default: new (issuer: string, configuration: Record<string, unknown>) => ProviderInstance;
  interactionPolicy: {
    base(): PromptPolicy;
    Check: new (
      reason: string,
      description: string,
      error: string,
      check: (ctx: { oidc: { result?: Record<string, unknown> } }) => boolean,
    ) => CheckInstance;
  };
}

let providerModule: Promise<ProviderModule> | undefined;

/**
 * Loads oidc-provider once. Its module body warns on stdout/stderr when Node is older than 22 LTS;
 * that one-time notice is dropped here (only lines that oidc-provider itself prefixes), nothing else.
 */
function loadProviderModule(): Promise<ProviderModule> {
  providerModule ??= (async () => {
    const isNotice = (args: unknown[]) => typeof args[0] === 'string' && /oidc-provider (WARNING|NOTICE)/.test(args[0]);
    const { warn, info } = console;
    console.warn = (...args: unknown[]) => {
      if (!isNotice(args)) warn.apply(console, args);
    };
    console.info = (...args: unknown[]) => {
      if (!isNotice(args)) info.apply(console, args);
    };
    try {
      const specifier = 'oidc-provider';
      return (await import(specifier)) as ProviderModule;
    } finally {
      console.warn = warn;
      console.info = info;
    }
  })();
  return providerModule;
}

// ---- small HTTP helpers ----

function readBody(req: IncomingMessage, limit = 64 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));
}

function s256(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}

// ---- the sandbox ----

export async function startOidcSandbox(options: OidcSandboxOptions = {}): Promise<OidcSandbox> {
  const { default: Provider, interactionPolicy } = await loadProviderModule();

  const users = (options.users ?? DEFAULT_USERS).map((u) => ({ ...u, groups: [...u.groups], sub: dexSubject(u.id) }));
  const bySub = new Map(users.map((u) => [u.sub, u]));
  const idTokenTtl = options.idTokenTtlSeconds ?? 86400;
  const deviceInterval = options.deviceIntervalSeconds ?? 5;

  let stats: SandboxStats = { authorizations: 0, tokens: {}, refreshTokensIssued: 0 };
  const store = new SandboxStore({ refreshTokenSaved: () => void stats.refreshTokensIssued++ });

  // Listen first: the issuer contains the port.
  const routing: { handle?: (req: IncomingMessage, res: ServerResponse) => void } = {};
  const server: Server = createServer((req, res) => {
    if (routing.handle) routing.handle(req, res);
    else sendJson(res, 503, { error: 'temporarily_unavailable', error_description: 'sandbox starting' });
  });
  const port = await listenOnLoopback(server, options.port);
  const issuer = `http://127.0.0.1:${port}${MOUNT}`;

  // Clients. Public clients without redirect URIs get Dex's loopback rule; oidc-provider insists on at
  // least one registered URI for the code flow, so they carry a placeholder that the rule covers anyway.
  const loopbackRuleClients = new Set<string>();
  const grantTypes = ['authorization_code', 'refresh_token', DEVICE_CODE_GRANT];
  const clients: Record<string, unknown>[] = [
    {
      client_id: SANDBOX_CLIENT_ID,
      client_name: 'tng',
      token_endpoint_auth_method: 'none',
      grant_types: grantTypes,
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1/callback'],
    },
  ];
  loopbackRuleClients.add(SANDBOX_CLIENT_ID);
  for (const [i, c] of (options.extraClients ?? []).entries()) {
    recordSecret('client-secret', c.client_secret);
    const redirectUris = c.redirect_uris ?? [];
    if (redirectUris.length === 0) {
      if (c.client_secret) {
        throw new Error(`sandbox: extraClients[${i}] (${c.client_id}) is confidential and needs redirect_uris`);
      }
      loopbackRuleClients.add(c.client_id);
    }
    clients.push({
      client_id: c.client_id,
      ...(c.client_secret
        ? { client_secret: c.client_secret, token_endpoint_auth_method: 'client_secret_basic' }
        : { token_endpoint_auth_method: 'none' }),
      grant_types: grantTypes,
      response_types: ['code'],
      redirect_uris: redirectUris.length ? redirectUris : ['http://127.0.0.1/callback'],
    });
  }

  // Dex has no single sign-on session: every authorization request asks for credentials again.
  const policy = interactionPolicy.base();
  policy.get('login')?.checks.push(
    new interactionPolicy.Check('dex_no_sso', 'every authorization request logs in anew', 'login_required', (ctx) => !ctx.oidc.result?.login),
  );

  const newJwk = () => ({
    ...newKeyPair('RS256').privateKey.export({ format: 'jwk' }),
    kid: randomBytes(8).toString('hex'),
    alg: 'RS256',
    use: 'sig',
  });
  let jwk = newJwk();

  const configuration: Record<string, unknown> = {
    adapter: store.adapterFactory,
    clients,
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    findAccount: async (_ctx: unknown, sub: string) => {
      const user = bySub.get(sub);
      if (!user) return undefined;
      return {
        accountId: sub,
        claims: async () => ({
          sub,
          email: user.email,
          email_verified: true,
          name: user.name,
          preferred_username: user.email.split('@')[0],
          groups: [...user.groups],
        }),
      };
    },
    scopes: ['openid', 'email', 'groups', 'profile', 'offline_access'],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
      groups: ['groups'],
    },
    // Dex puts the scope-selected claims into the ID token itself.
    conformIdTokenClaims: false,
    responseTypes: ['code'],
    clientAuthMethods: ['none', 'client_secret_basic', 'client_secret_post'],
    clientBasedCORS: () => false,
    allowOmittingSingleRegisteredRedirectUri: false,
    pkce: { required: () => false },
    routes: {
      authorization: '/auth',
      token: '/token',
      jwks: '/keys',
      userinfo: '/userinfo',
      device_authorization: '/device/code',
      code_verification: '/device',
      revocation: '/token/revocation',
    },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      resourceIndicators: { enabled: false },
      dPoP: { enabled: false },
      revocation: { enabled: options.revocation === true, allowedPolicy: async () => true },
      userinfo: { enabled: true },
      deviceFlow: {
        enabled: true,
        charset: 'base-20',
        mask: '****-****',
        userCodeInputSource: async (ctx: KoaContext, form: string, _out: unknown, err?: { name?: string; userCode?: string }) => {
          let message: string | undefined;
          if (err?.userCode || err?.name === 'NoCodeError') message = 'That code is not valid. Try again.';
          else if (err?.name === 'AbortedError') message = 'The login was cancelled.';
          else if (err) message = 'Something went wrong; try again.';
          ctx.type = 'html';
          ctx.body = deviceCodeInputPage(form, message);
        },
        userCodeConfirmSource: async (ctx: KoaContext, form: string, client: { clientId: string }, _info: unknown, userCode: string) => {
          ctx.type = 'html';
          ctx.body = deviceConfirmPage(form, client.clientId, userCode);
        },
        successSource: async (ctx: KoaContext) => {
          ctx.type = 'html';
          ctx.body = deviceSuccessPage(ctx.oidc?.client?.clientId ?? '');
        },
      },
    },
    interactions: {
      policy,
      url: (_ctx: unknown, interaction: { uid: string }) => `${MOUNT}/interaction/${interaction.uid}`,
    },
    // Refresh tokens: whenever offline_access was granted; rotate on every use.
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(t: string): boolean }, source: { scopes: Set<string> }) =>
      client.grantTypeAllowed('refresh_token') && source.scopes.has('offline_access'),
    rotateRefreshToken: () => true,
    ttl: {
      AccessToken: () => idTokenTtl,
      AuthorizationCode: () => 300,
      DeviceCode: () => 300,
      IdToken: () => idTokenTtl,
      RefreshToken: () => REFRESH_TOKEN_LIFETIME,
      Grant: () => REFRESH_TOKEN_LIFETIME,
      Interaction: () => 3600,
      Session: () => 3600,
    },
    renderError: async (ctx: KoaContext, out: Record<string, unknown>) => {
      ctx.type = 'html';
      ctx.body = errorPage(out);
    },
  };

  /**
   * One provider per signing key. Everything it keeps (grants, codes, tokens, sessions, interactions) lives
   * in `store`, so a provider built for a new key carries on where the previous one stopped.
   */
  function buildProvider(signingKey: Record<string, unknown>): ProviderInstance {
    const provider = new Provider(issuer, { ...configuration, jwks: { keys: [signingKey] } });
    provider.silent = true; // no Koa error logging to the console
    provider.on('server_error', (_ctx: unknown, err: unknown) => {
      if (process.env.SANDBOX_OIDC_DEBUG) console.error('sandbox oidc: server_error', err);
    });

    // Redirect URI rule (Dex validateRedirectURI): exact match, or the loopback rule for public clients
    // that registered none.
    const exactRedirectAllowed = provider.Client.prototype.redirectUriAllowed;
    provider.Client.prototype.redirectUriAllowed = function redirectUriAllowed(this: { clientId: string }, value: string) {
      if (loopbackRuleClients.has(this.clientId)) return isLoopbackHttpRedirect(value);
      return exactRedirectAllowed.call(this, value);
    };

    // Post-processing of oidc-provider's responses so they read like Dex's.
    provider.use(async (ctx, next) => {
      try {
        await next();
      } finally {
        if (ctx.method === 'POST' && ctx.path === '/token') {
          const gt = ctx.oidc?.params?.grant_type ?? ctx.oidc?.body?.grant_type;
          const key = typeof gt === 'string' && gt ? gt : '(none)';
          stats.tokens[key] = (stats.tokens[key] ?? 0) + 1;
        }
      }

      if (ctx.method === 'GET' && ctx.path === '/.well-known/openid-configuration' && ctx.status === 200) {
        const d = ctx.body as Record<string, unknown>;
        ctx.body = {
          issuer: d.issuer,
          authorization_endpoint: d.authorization_endpoint,
          token_endpoint: d.token_endpoint,
          jwks_uri: d.jwks_uri,
          userinfo_endpoint: d.userinfo_endpoint,
          device_authorization_endpoint: d.device_authorization_endpoint,
          ...(d.revocation_endpoint ? { revocation_endpoint: d.revocation_endpoint } : {}),
          grant_types_supported: ['authorization_code', 'refresh_token', DEVICE_CODE_GRANT],
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
          code_challenge_methods_supported: ['S256', 'plain'],
          scopes_supported: ['openid', 'email', 'groups', 'profile', 'offline_access'],
          token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
          claims_supported: ['iss', 'sub', 'aud', 'iat', 'exp', 'email', 'email_verified', 'groups', 'name', 'preferred_username'],
        };
      } else if (ctx.method === 'POST' && ctx.path === '/token' && ctx.status === 200) {
        // The hygiene scans look for every token handed out.
        const body = (ctx.body ?? {}) as Record<string, unknown>;
        if (typeof body.id_token === 'string') recordSecret('id-token', body.id_token);
        if (typeof body.access_token === 'string') recordSecret('access-token', body.access_token);
        if (typeof body.refresh_token === 'string') recordSecret('refresh-token', body.refresh_token);
      } else if (ctx.method === 'POST' && ctx.path === '/device/code' && ctx.status === 200) {
        const body = ctx.body as Record<string, unknown>;
        if (typeof body.device_code === 'string') recordSecret('device-code', body.device_code);
        ctx.body = { ...body, interval: deviceInterval };
      } else if (ctx.method === 'GET' && /^\/auth(\/[^/]+)?$/.test(ctx.path) && ctx.status >= 300 && ctx.status < 400) {
        // Dex does not send RFC 9207's `iss` in the authorization response.
        const location = ctx.response.get('Location');
        if (location && !location.startsWith(`${MOUNT}/`) && !location.startsWith(issuer)) {
          try {
            const u = new URL(location);
            recordSecret('authorization-code', u.searchParams.get('code'));
            if (u.searchParams.has('iss')) {
              u.searchParams.delete('iss');
              ctx.set('Location', u.href);
            }
          } catch {
            // not an absolute URL: leave it alone
          }
        }
      }
    });
    return provider;
  }

  let provider = buildProvider(jwk);
  let providerCallback = provider.callback();

  /** Dex-isms for an authorization request, applied to the query before oidc-provider parses it. */
  function rewriteAuthorizationQuery(search: string): string {
    const q = new URLSearchParams(search);
    // PKCE: Dex treats a missing method as "plain" and accepts plain; oidc-provider knows only S256.
    // S256(challenge) compared with S256(verifier) is exactly the plain comparison.
    const challenge = q.get('code_challenge');
    const method = q.get('code_challenge_method');
    if (challenge && (method === null || method === 'plain')) {
      q.set('code_challenge', s256(challenge));
      q.set('code_challenge_method', 'S256');
    }
    // Refresh tokens without a consent screen: oidc-provider drops offline_access unless prompt=consent;
    // the consent prompt is then satisfied together with the login (see the interaction handler).
    const scopes = (q.get('scope') ?? '').split(' ');
    if (scopes.includes('offline_access')) {
      const prompts = new Set((q.get('prompt') ?? '').split(' ').filter(Boolean));
      if (!prompts.has('none') && !prompts.has('consent')) {
        prompts.add('consent');
        q.set('prompt', [...prompts].join(' '));
      }
    }
    return q.toString();
  }

  async function grantEverythingRequested(details: InteractionDetails, accountId: string): Promise<string> {
    const clientId = String(details.params.client_id ?? '');
    const existing = details.grantId ? await provider.Grant.find(details.grantId) : undefined;
    const grant = existing ?? new provider.Grant({ accountId, clientId });
    const scope = typeof details.params.scope === 'string' ? details.params.scope : 'openid';
    grant.addOIDCScope(scope);
    const missingClaims = details.prompt.details.missingOIDCClaims;
    if (Array.isArray(missingClaims)) grant.addOIDCClaims(missingClaims.map(String));
    return grant.save();
  }

  async function handleInteraction(req: IncomingMessage, res: ServerResponse, uid: string): Promise<void> {
    const action = `${MOUNT}/interaction/${encodeURIComponent(uid)}`;
    let details: InteractionDetails;
    try {
      details = await provider.interactionDetails(req, res);
    } catch (e) {
      const err = e as { error?: string; error_description?: string; message?: string; statusCode?: number };
      send(res, err.statusCode ?? 400, 'text/html; charset=utf-8', errorPage({
        error: err.error ?? 'invalid_request',
        error_description: err.error_description ?? err.message ?? 'interaction not found',
      }));
      return;
    }
    if (details.uid !== uid) {
      send(res, 400, 'text/html; charset=utf-8', errorPage({ error: 'invalid_request', error_description: 'interaction mismatch' }));
      return;
    }
    const clientId = String(details.params.client_id ?? '');

    if (req.method === 'GET') {
      if (details.prompt.name === 'login') {
        send(res, 200, 'text/html; charset=utf-8', loginPage({ action, clientId }));
        return;
      }
      // Dex never asks for consent: grant what was asked for and carry on.
      const accountId = details.session?.accountId;
      if (!accountId) {
        send(res, 400, 'text/html; charset=utf-8', errorPage({ error: 'invalid_request', error_description: 'no logged-in user' }));
        return;
      }
      const grantId = await grantEverythingRequested(details, accountId);
      await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
      return;
    }

    if (req.method !== 'POST') {
      send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
      return;
    }
    const form = new URLSearchParams(await readBody(req));
    if (form.get('action') === 'cancel') {
      await provider.interactionFinished(
        req,
        res,
        { error: 'access_denied', error_description: 'End-User aborted interaction' },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    const login = (form.get('login') ?? '').trim();
    const user = users.find((u) => u.email.toLowerCase() === login.toLowerCase());
    if (!user || user.password !== (form.get('password') ?? '')) {
      send(res, 200, 'text/html; charset=utf-8', loginPage({
        action,
        clientId,
        login,
        error: 'Invalid Email Address and password.',
      }));
      return;
    }
    const grantId = await grantEverythingRequested(details, user.sub);
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: user.sub, remember: false }, consent: { grantId } },
      { mergeWithLastSubmission: false },
    );
  }

  let faults: Array<OidcFaultRule & { remaining: number }> = [];
  let clockSkewSeconds = 0;
  const takeFault = (method: string, path: string): OidcFaultRule | undefined => {
    const below = path.startsWith(MOUNT) ? path.slice(MOUNT.length) || '/' : path;
    const index = faults.findIndex((f) => (f.method === undefined || f.method.toUpperCase() === method) && below.startsWith(f.path));
    if (index < 0) return undefined;
    const fault = faults[index] as OidcFaultRule & { remaining: number };
    fault.remaining -= 1;
    if (fault.remaining <= 0) faults.splice(index, 1);
    return fault;
  };

  routing.handle = (req, res) => {
    const url = new URL(req.url ?? '/', 'http://sandbox.invalid');
    const path = url.pathname;
    if (clockSkewSeconds !== 0) res.setHeader('Date', new Date(Date.now() + clockSkewSeconds * 1000).toUTCString());
    if (!path.startsWith('/__sandbox/')) {
      const fault = takeFault((req.method ?? 'GET').toUpperCase(), path);
      if (fault) {
        void (async () => {
          if (fault.delayMs) await sleep(fault.delayMs);
          if (fault.drop) {
            req.socket.destroy();
          } else if (fault.status !== undefined) {
            sendJson(res, fault.status, fault.body ?? { error: 'server_error', error_description: `sandbox fault: HTTP ${fault.status}` });
          } else {
            serve(req, res, url, path);
          }
        })();
        return;
      }
    }
    serve(req, res, url, path);
  };

  const serve = (req: IncomingMessage, res: ServerResponse, url: URL, path: string) => {
    if (path === '/__sandbox/stats' && req.method === 'GET') {
      sendJson(res, 200, structuredClone(stats));
      return;
    }
    if (path === '/__sandbox/reset' && req.method === 'POST') {
      stats = { authorizations: 0, tokens: {}, refreshTokensIssued: 0 };
      sendJson(res, 200, structuredClone(stats));
      return;
    }

    const interaction = /^\/dex\/interaction\/([^/]+)$/.exec(path);
    if (interaction?.[1]) {
      handleInteraction(req, res, decodeURIComponent(interaction[1])).catch((err: unknown) => {
        if (process.env.SANDBOX_OIDC_DEBUG) console.error('sandbox oidc: interaction failed', err);
        if (!res.headersSent) {
          send(res, 500, 'text/html; charset=utf-8', errorPage({ error: 'server_error', error_description: 'interaction failed' }));
        } else {
          res.destroy();
        }
      });
      return;
    }

    if (path !== MOUNT && !path.startsWith(`${MOUNT}/`)) {
      sendJson(res, 404, { error: 'not_found', error_description: `nothing at ${path}; the issuer is ${issuer}` });
      return;
    }

    let search = url.search;
    if (path === `${MOUNT}/auth` && req.method === 'GET') {
      stats.authorizations++;
      const rewritten = rewriteAuthorizationQuery(url.search);
      search = rewritten ? `?${rewritten}` : '';
    } else if (path === `${MOUNT}/device/code` && req.method === 'POST') {
      stats.authorizations++;
    }
    const inner = `${path.slice(MOUNT.length) || '/'}${search}`;
    const mounted = req as IncomingMessage & { originalUrl?: string; baseUrl?: string };
    mounted.originalUrl = `${MOUNT}${inner}`;
    mounted.baseUrl = MOUNT;
    req.url = inner;
    providerCallback(req, res);
  };

  let listening = true;
  const stopListening = async () => {
    if (!listening) return;
    listening = false;
    await stopServer(server);
  };

  return {
    issuer,
    port,
    stats: () => structuredClone(stats),
    resetStats: () => {
      stats = { authorizations: 0, tokens: {}, refreshTokensIssued: 0 };
    },
    fault: (rule) => {
      if (typeof rule.path !== 'string' || !rule.path.startsWith('/')) throw new Error('sandbox oidc: a fault needs a "path" starting with "/"');
      faults.push({ ...rule, remaining: rule.times ?? Number.POSITIVE_INFINITY });
    },
    clearFaults: () => {
      faults = [];
    },
    down: stopListening,
    up: async () => {
      if (listening) return;
      await listenOnLoopback(server, port);
      listening = true;
    },
    rotateSigningKey: () => {
      jwk = newJwk();
      provider = buildProvider(jwk);
      providerCallback = provider.callback();
    },
    signingKeyId: () => jwk.kid,
    expireRefreshTokens: () => store.expireRefreshTokens(),
    revokeRefreshTokens: () => store.revokeRefreshTokens(),
    setClockSkew: (seconds) => {
      clockSkewSeconds = seconds;
    },
    close: stopListening,
  };
}

// ---- run by hand ----

async function main(argv: string[]): Promise<void> {
  const i = argv.indexOf('--port');
  const portArg = i >= 0 ? argv[i + 1] : process.env.SANDBOX_OIDC_PORT;
  const port = portArg ? Number(portArg) : undefined;
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port < 65536)) {
    console.error(`sandbox oidc: bad port ${portArg}`);
    process.exitCode = 2;
    return;
  }
  const sandbox = await startOidcSandbox({ port });
  console.log(sandbox.issuer);
  console.error(`sandbox oidc: client_id "${SANDBOX_CLIENT_ID}" (public, any http loopback redirect); users: ${DEFAULT_USERS.map((u) => u.email).join(', ')} (password "password"); Ctrl-C stops it`);
  const stop = () => {
    sandbox.close().finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error('sandbox oidc: failed to start:', err);
    process.exitCode = 1;
  });
}
