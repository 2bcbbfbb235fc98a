// Vault's OIDC auth method: the browser half of vault-plugin-auth-jwt (`path_oidc.go`), as
// `vault login -method=oidc` drives it. Vault is the OIDC client here:
//
//   POST auth/<mount>/oidc/auth_url {role, redirect_uri, client_nonce}
//     → Vault keeps a pending login under a random `state` for 10 minutes (role, redirect_uri, client_nonce,
//       its own `nonce` and PKCE verifier) and answers the provider's authorization URL;
//   GET  auth/<mount>/oidc/callback?state&code&client_nonce
//     → Vault redeems the code at the provider's token endpoint with its own client_id/secret, the same
//       redirect_uri and the PKCE verifier, verifies the ID token, applies the role's claim rules and
//       answers the same auth{...} envelope as a JWT login.
//
// The mount is a JWT mount too (one plugin): `login` works for `role_type: "jwt"` roles, as in Vault.
import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { badRequest, envelope, stringField, VaultError } from '../http.ts';
import type { VaultRequest, VaultResponse } from '../http.ts';
import { randomBase62 } from '../ids.ts';
import type { TokenStore } from '../tokens.ts';
import { createIdentity, checkBoundClaims, issueLoginToken, stringList } from './jwt-common.ts';
import type { Identity, JwtRole } from './jwt-common.ts';
import { JwtBackend, claimFailure } from './jwt.ts';
import type { JwtMountConfig } from './jwt.ts';
import { KeyFetchError, SignatureError } from './jwks.ts';

/** A role of the OIDC auth method: a JWT role plus the browser-flow fields. */
export interface OidcRole extends JwtRole {
  /** Required for `role_type: "oidc"` (the default). Loopback URIs match on any port. */
  allowed_redirect_uris?: string[];
  /** Requested besides `openid`. */
  oidc_scopes?: string[];
  /** Accepted and ignored (Vault logs tokens and claims at debug level). */
  verbose_oidc_logging?: boolean;
}

export interface OidcMountConfig extends JwtMountConfig {
  /** The provider's issuer (no "/.well-known/..."); its discovery document must name the same issuer. */
  oidc_discovery_url: string;
  oidc_client_id: string;
  oidc_client_secret: string;
}

/** How long a pending login (a `state`) lives: the plugin's oidcRequestTimeout. */
export const OIDC_STATE_TTL_MS = 10 * 60 * 1000;
/** `jwt_supported_algs` unset: OIDC verification accepts RS256 only. */
const OIDC_ALGS = ['RS256'];
/** Leeway for iat and nbf in the ID-token verification (cap / go-oidc); exp has none. */
const VERIFY_LEEWAY_S = 60;
const FETCH_TIMEOUT_MS = 5000;
/** The prefix the Vault UI looks for. */
const LOGIN_FAILED = 'Vault login failed.';

interface PendingLogin {
  namespace: string;
  roleName: string;
  redirectUri: string;
  clientNonce: string;
  nonce: string;
  codeVerifier: string;
  /** ms since epoch */
  expiresAt: number;
}

interface ProviderInfo {
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  userinfoEndpoint?: string;
}

// ---------------------------------------------------------------------------------------------------
// Redirect URI validation (validRedirect / isLocalAddr)

/** "localhost" (exactly), or a loopback IP: 127.0.0.0/8, ::1, ::ffff:127.x.y.z. */
export function isLoopbackHost(hostname: string): boolean {
  if (hostname === 'localhost') return true;
  if (isIPv4(hostname)) return hostname.split('.')[0] === '127';
  if (isIPv6(hostname)) {
    const normal = new URL(`http://[${hostname}]/`).hostname.slice(1, -1);
    return normal === '::1' || /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(normal);
  }
  return false;
}

interface SplitUri {
  scheme: string;
  userinfo: string;
  hostname: string;
  /** Everything after the authority: path, query, fragment. */
  rest: string;
}

/** Splits an absolute URI without normalising it (WHATWG URL would rewrite hosts such as "127.1"). */
function splitUri(uri: string): SplitUri | undefined | 'invalid' {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(.*)$/s.exec(uri);
  if (!m) return undefined;
  const authority = m[2] ?? '';
  const at = authority.lastIndexOf('@');
  const userinfo = at >= 0 ? authority.slice(0, at + 1) : '';
  const hostport = authority.slice(at + 1);
  let hostname: string;
  let port: string;
  if (hostport.startsWith('[')) {
    const close = hostport.indexOf(']');
    if (close < 0) return 'invalid';
    hostname = hostport.slice(1, close);
    const after = hostport.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) return 'invalid';
    port = after.slice(1);
  } else {
    const colon = hostport.lastIndexOf(':');
    hostname = colon >= 0 ? hostport.slice(0, colon) : hostport;
    port = colon >= 0 ? hostport.slice(colon + 1) : '';
  }
  if (!/^\d*$/.test(port)) return 'invalid';
  return { scheme: (m[1] ?? '').toLowerCase(), userinfo, hostname, rest: m[3] ?? '' };
}

/**
 * The plugin's rule: a loopback redirect URI (host "localhost" or a loopback IP) matches an allowed URI
 * that differs at most in the port; anything else must equal an allowed URI, ignoring case.
 */
export function validRedirect(uri: string, allowed: readonly string[]): boolean {
  const input = splitUri(uri);
  if (input === 'invalid') return false;
  if (!input || !isLoopbackHost(input.hostname)) return allowed.some((a) => a.toLowerCase() === uri.toLowerCase());
  const portless = (u: SplitUri): string => `${u.scheme}://${u.userinfo}${u.hostname}${u.rest}`;
  for (const a of allowed) {
    const candidate = splitUri(a);
    if (candidate === 'invalid') return false;
    if (candidate && portless(candidate) === portless(input)) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------------

/** Go's url.QueryEscape: only [A-Za-z0-9-_.~] stay as they are, a space becomes "+". */
function queryEscape(value: string): string {
  return encodeURIComponent(value)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** Go's url.Values.Encode: keys sorted. */
function encodeForm(values: Record<string, string>): string {
  return Object.keys(values)
    .sort()
    .map((k) => `${queryEscape(k)}=${queryEscape(values[k] ?? '')}`)
    .join('&');
}

/** Go's %q for the strings that occur here. */
const quote = (s: string): string => JSON.stringify(s);

const s256 = (value: string): string => createHash('sha256').update(value).digest('base64url');

/** A failure inside the code exchange (cap's Provider.Exchange); the message reads like cap's. */
class ExchangeError extends Error {}

async function fetchWithTimeout(url: string, init: RequestInit): Promise<Response> {
  return fetch(url, { ...init, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
}

function goTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' +0000 UTC');
}

export class OidcBackend extends JwtBackend<OidcRole> {
  override readonly type = 'oidc';
  private readonly pending = new Map<string, PendingLogin>();

  constructor(
    name: string,
    readonly oidcConfig: OidcMountConfig,
    tokens: TokenStore,
  ) {
    super(name, oidcConfig, tokens);
    this.routes.push(
      { pattern: 'oidc/auth_url', unauthenticated: true, handlers: { update: (req) => this.authUrl(req) } },
      {
        pattern: 'oidc/callback',
        unauthenticated: true,
        handlers: {
          read: (req) => this.callback(req),
          // The form_post half exists only for oidc_response_mode=form_post, which the sandbox does not offer.
          update: () => {
            throw new VaultError(405);
          },
        },
      },
    );
  }

  /** Vault's role checks plus the OIDC ones: an oidc role must list allowed_redirect_uris. */
  override setRole(name: string, role: OidcRole): void {
    if (!role || typeof role !== 'object') throw new Error('role must be an object');
    const allowed_redirect_uris = stringList(role.allowed_redirect_uris, 'allowed_redirect_uris');
    const oidc_scopes = stringList(role.oidc_scopes, 'oidc_scopes');
    if ((role.role_type ?? 'oidc') === 'oidc' && allowed_redirect_uris.length === 0) {
      throw new Error("'allowed_redirect_uris' must be set if 'role_type' is 'oidc' or unspecified.");
    }
    super.setRole(name, { ...role, allowed_redirect_uris, oidc_scopes });
  }

  /** How many logins are pending (auth_url asked, callback not yet made, not expired). */
  pendingLogins(): number {
    this.sweep(Date.now());
    return this.pending.size;
  }

  /** Ages every pending login past the 10-minute limit; answers how many there were. */
  expirePendingLogins(): number {
    const n = this.pending.size;
    for (const p of this.pending.values()) p.expiresAt = 0;
    return n;
  }

  private sweep(now: number): void {
    for (const [state, p] of this.pending) if (p.expiresAt <= now) this.pending.delete(state);
  }

  /** Discovery as go-oidc does it: the document must name the configured issuer. */
  private async provider(): Promise<ProviderInfo> {
    const doc = await this.keys.discoveryDocument();
    const expected = this.oidcConfig.oidc_discovery_url;
    if (doc.issuer !== expected) {
      throw new KeyFetchError(`oidc: issuer did not match the issuer returned by provider, expected ${quote(expected)} got ${quote(String(doc.issuer))}`, 'discovery');
    }
    if (typeof doc.authorization_endpoint !== 'string' || typeof doc.token_endpoint !== 'string') {
      throw new KeyFetchError('discovery document has no authorization_endpoint or token_endpoint', 'discovery');
    }
    return {
      issuer: expected,
      authorizationEndpoint: doc.authorization_endpoint,
      tokenEndpoint: doc.token_endpoint,
      ...(typeof doc.userinfo_endpoint === 'string' ? { userinfoEndpoint: doc.userinfo_endpoint } : {}),
    };
  }

  private async authUrl(req: VaultRequest): Promise<VaultResponse> {
    if (!this.oidcConfig.oidc_discovery_url || !this.oidcConfig.oidc_client_id) throw badRequest('OIDC login is not configured for this mount');
    const roleName = this.roleNameFrom(req);
    if (roleName === '') throw badRequest('missing role');
    const redirectUri = stringField(req.data, 'redirect_uri');
    const role = this.roles.get(roleName);
    if (!role) throw badRequest(`role ${quote(roleName)} could not be found`);
    if (redirectUri === '') throw badRequest('missing redirect_uri');

    // The endpoint is unauthenticated, so Vault says nothing more about refusals than an empty URL
    // (the reason goes to its server log only).
    const refused = envelope({ data: { auth_url: '' } });
    if (!validRedirect(redirectUri, role.allowed_redirect_uris ?? [])) return refused;
    let provider: ProviderInfo;
    try {
      provider = await this.provider();
    } catch {
      return refused;
    }

    const now = Date.now();
    this.sweep(now);
    const state = randomBase62(40);
    const nonce = randomBase62(40);
    const codeVerifier = randomBase62(64);
    this.pending.set(state, {
      namespace: req.namespace,
      roleName,
      redirectUri,
      clientNonce: stringField(req.data, 'client_nonce'),
      nonce,
      codeVerifier,
      expiresAt: now + OIDC_STATE_TTL_MS,
    });
    const scopes = role.oidc_scopes ?? [];
    const query = encodeForm({
      client_id: this.oidcConfig.oidc_client_id,
      code_challenge: s256(codeVerifier),
      code_challenge_method: 'S256',
      nonce,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: (scopes.includes('openid') ? scopes : ['openid', ...scopes]).join(' '),
      state,
    });
    const endpoint = provider.authorizationEndpoint;
    return envelope({ data: { auth_url: `${endpoint}${endpoint.includes('?') ? '&' : '?'}${query}` } });
  }

  private async callback(req: VaultRequest): Promise<VaultResponse> {
    const stateId = stringField(req.data, 'state');
    this.sweep(Date.now());
    const pending = this.pending.get(stateId);
    // Another namespace has other mounts in Vault, so a state from elsewhere is unknown here.
    if (!pending || pending.namespace !== req.namespace) throw badRequest(`${LOGIN_FAILED} Expired or missing OAuth state.`);
    // Single use: whatever happens from here on, the state is gone.
    this.pending.delete(stateId);

    const roleName = pending.roleName;
    const role = this.roles.get(roleName);
    if (!role) throw badRequest(`${LOGIN_FAILED} Role could not be found`);
    const errorDescription = stringField(req.data, 'error_description');
    if (errorDescription !== '') throw badRequest(`${LOGIN_FAILED} ${errorDescription}`);
    if (pending.clientNonce !== '' && stringField(req.data, 'client_nonce') !== pending.clientNonce) throw badRequest('invalid client_nonce');

    let provider: ProviderInfo;
    try {
      provider = await this.provider();
    } catch (err) {
      if (err instanceof KeyFetchError) throw new VaultError(500, `error getting provider for login operation: ${err.message}`);
      throw err;
    }
    // An `id_token` query parameter is not read here: Vault takes one only from a form_post.
    const code = stringField(req.data, 'code');
    if (code === '' || code === 'no_code') throw badRequest(`${LOGIN_FAILED} No code or id_token received.`);

    let claims: Record<string, unknown>;
    let accessToken: string;
    try {
      ({ claims, accessToken } = await this.exchange(provider, pending, role, code));
    } catch (err) {
      if (err instanceof ExchangeError) throw badRequest(`${LOGIN_FAILED} Error exchanging oidc code: ${quote(err.message)}.`);
      throw err;
    }
    delete claims.nonce;

    const subject = typeof claims.sub === 'string' ? claims.sub : '';
    if (role.bound_subject && role.bound_subject !== subject) throw badRequest(`${LOGIN_FAILED} sub claim does not match bound subject`);
    await this.mergeUserinfo(provider, accessToken, subject, claims);

    let identity: Identity;
    try {
      identity = createIdentity(claims, role);
    } catch (err) {
      claimFailure(err, `${LOGIN_FAILED} `);
    }
    try {
      checkBoundClaims(claims, role);
    } catch (err) {
      claimFailure(err, `${LOGIN_FAILED} error validating claims: `);
    }
    return issueLoginToken(
      this.tokens,
      req,
      { mount: this.name, path: `auth/${this.name}/oidc/callback`, roleName, role, currentRole: () => this.roles.get(roleName) },
      identity,
    );
  }

  /** Redeems the code (with client_secret_basic and the PKCE verifier) and verifies the ID token. */
  private async exchange(
    provider: ProviderInfo,
    pending: PendingLogin,
    role: OidcRole,
    code: string,
  ): Promise<{ claims: Record<string, unknown>; accessToken: string }> {
    const op = 'Provider.Exchange';
    const { oidc_client_id: clientId, oidc_client_secret: secret } = this.oidcConfig;
    const form: Record<string, string> = {
      code,
      code_verifier: pending.codeVerifier,
      grant_type: 'authorization_code',
      redirect_uri: pending.redirectUri,
    };
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (secret) headers.authorization = `Basic ${Buffer.from(`${queryEscape(clientId)}:${queryEscape(secret)}`).toString('base64')}`;
    else form.client_id = clientId;

    let response: Response;
    let text: string;
    try {
      response = await fetchWithTimeout(provider.tokenEndpoint, { method: 'POST', headers, body: encodeForm(form) });
      text = await response.text();
    } catch (err) {
      throw new ExchangeError(`${op}: unable to exchange auth code with provider: Post ${quote(provider.tokenEndpoint)}: ${(err as Error).message}`);
    }
    let body: Record<string, unknown> = {};
    try {
      const parsed = JSON.parse(text) as unknown;
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
    } catch {
      // not JSON: reported below with the status
    }
    if (!response.ok || typeof body.error === 'string') {
      let reason: string;
      if (typeof body.error === 'string' && body.error !== '') {
        reason = `oauth2: ${quote(body.error)}`;
        if (typeof body.error_description === 'string' && body.error_description !== '') reason += ` ${quote(body.error_description)}`;
      } else {
        reason = `oauth2: cannot fetch token: ${response.status} ${response.statusText}\nResponse: ${text.slice(0, 500)}`;
      }
      throw new ExchangeError(`${op}: unable to exchange auth code with provider: ${reason}`);
    }
    if (typeof body.access_token !== 'string' || body.access_token === '') {
      throw new ExchangeError(`${op}: unable to exchange auth code with provider: oauth2: server response missing access_token`);
    }
    if (typeof body.id_token !== 'string' || body.id_token === '') {
      throw new ExchangeError(`${op}: id_token is missing from auth code exchange: id_token is missing`);
    }
    let claims: Record<string, unknown>;
    try {
      claims = await this.verifyIdToken(provider, body.id_token, pending, role);
    } catch (err) {
      if (err instanceof ExchangeError) throw new ExchangeError(`${op}: id_token failed verification: Provider.VerifyIDToken: ${err.message}`);
      throw err;
    }
    if (typeof claims.at_hash === 'string' && claims.at_hash !== '') {
      const expected = createHash('sha256').update(body.access_token).digest().subarray(0, 16).toString('base64url');
      if (claims.at_hash !== expected) throw new ExchangeError(`${op}: access_token failed verification: invalid access_token: access token hash does not match value in ID token`);
    }
    return { claims, accessToken: body.access_token };
  }

  /** Signature (RS256), iss, exp, nbf, nonce, iat, aud (bound_audiences) and azp, in cap's order. */
  private async verifyIdToken(provider: ProviderInfo, idToken: string, pending: PendingLogin, role: OidcRole): Promise<Record<string, unknown>> {
    const clientId = this.oidcConfig.oidc_client_id;
    let claims: Record<string, unknown>;
    try {
      claims = await this.keys.verify(idToken, OIDC_ALGS);
    } catch (err) {
      if (err instanceof SignatureError) throw new ExchangeError(`invalid id_token: oidc: ${err.message}`);
      if (err instanceof KeyFetchError) throw new ExchangeError(`invalid id_token: oidc: get keys failed: ${err.message}`);
      throw err;
    }
    if (claims.iss !== provider.issuer) {
      throw new ExchangeError(`invalid id_token: oidc: id token issued by a different provider, expected ${quote(provider.issuer)} got ${quote(String(claims.iss))}`);
    }
    const now = Date.now() / 1000;
    const exp = typeof claims.exp === 'number' ? claims.exp : 0;
    if (now > exp) throw new ExchangeError(`invalid id_token: oidc: token is expired (Token Expiry: ${goTime(exp)})`);
    if (typeof claims.nbf === 'number' && now + VERIFY_LEEWAY_S < claims.nbf) {
      throw new ExchangeError(`invalid id_token: oidc: current time ${goTime(now)} before the nbf (not before) time: ${goTime(claims.nbf)}`);
    }
    if (claims.nonce !== pending.nonce) throw new ExchangeError('invalid id_token nonce: invalid nonce');
    if (typeof claims.iat === 'number' && now + VERIFY_LEEWAY_S < claims.iat) {
      throw new ExchangeError(`invalid id_token current time ${goTime(now)} before the iat (issued at) time ${goTime(claims.iat)}: invalid issued at (iat)`);
    }
    const aud = claims.aud;
    const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [];
    const bound = role.bound_audiences ?? [];
    if (bound.length > 0 && !bound.some((b) => audiences.includes(b))) {
      throw new ExchangeError('invalid id_token audiences: verifyAudiences: invalid id_token audiences: invalid audience');
    }
    if (audiences.length > 1 && !audiences.includes(clientId)) {
      throw new ExchangeError(`invalid id_token: multiple audiences (${audiences.join(' ')}) and one of them is not equal client_id (${clientId}): invalid audience`);
    }
    const azp = claims.azp;
    if (azp !== undefined && azp !== clientId) {
      throw new ExchangeError(`invalid id_token: authorized party (${String(azp)}) is not equal client_id (${clientId}): invalid authorized party`);
    }
    if (audiences.length > 1 && azp !== clientId) {
      throw new ExchangeError(`invalid id_token: multiple audiences and authorized party (${String(azp ?? '')}) is not equal client_id (${clientId}): invalid authorized party`);
    }
    if (audiences.length === 1 && audiences[0] !== clientId && azp !== clientId) {
      throw new ExchangeError(
        `invalid id_token: one audience (${audiences[0] ?? ''}) which is not the client_id (${clientId}) and authorized party (${String(azp ?? '')}) is not equal client_id (${clientId}): invalid authorized party`,
      );
    }
    return claims;
  }

  /** Adds the userinfo claims when the provider answers them for this subject; failures are ignored. */
  private async mergeUserinfo(provider: ProviderInfo, accessToken: string, subject: string, claims: Record<string, unknown>): Promise<void> {
    if (!provider.userinfoEndpoint) return;
    try {
      const response = await fetchWithTimeout(provider.userinfoEndpoint, { headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' } });
      if (!response.ok) return;
      const info = (await response.json()) as unknown;
      if (!info || typeof info !== 'object' || Array.isArray(info)) return;
      const record = info as Record<string, unknown>;
      if (record.sub !== subject) return;
      if (record.iss !== undefined && record.iss !== provider.issuer) return;
      Object.assign(claims, record);
    } catch {
      // Vault only logs a failed userinfo request.
    }
  }
}
