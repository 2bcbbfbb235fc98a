import * as oidc from 'openid-client';
import { TngError, describe, loginInterrupted, usageError } from '../errors.ts';
import { ProxiedRequestError, networkError, type Fetch } from '../net/http.ts';
import type { Browser } from '../platform/browser.ts';
import type { IO } from '../ui/io.ts';
import { deviceCode as showDeviceCode } from '../ui/progress.ts';
import { startLoopbackListener } from './loopback.ts';

/** What tng keeps of a validated ID token: public claims only. */
export interface IdentityClaims {
  issuer: string;
  subject: string;
  email: string | null;
  groups: string[];
  /** ID token expiry, seconds since the epoch. */
  expiresAt: number;
}

export interface OidcTokens {
  idToken: string;
  refreshToken: string | undefined;
  claims: IdentityClaims;
}

export interface IssuerOptions {
  issuer: string;
  clientId: string;
  clientSecret?: string;
  fetch: Fetch;
}

function withFetch(fetch: Fetch): oidc.CustomFetch {
  return (url, options) => fetch(url, options as RequestInit) as ReturnType<oidc.CustomFetch>;
}

/**
 * Turns an openid-client failure into tng's error. `stage` names what was attempted.
 * The issuer refusing a grant, or an ID token that fails validation, is a denial (exit 4);
 * transport failures, 412, 429 and 5xx are "unavailable" (exit 6).
 */
export function oidcError(error: unknown, stage: string, issuer: string): TngError {
  if (error instanceof TngError) return error;
  if (error instanceof oidc.ResponseBodyError) return refusal(error.status, error.error, error.error_description, stage, issuer, error);
  if (error instanceof oidc.WWWAuthenticateChallengeError) {
    // A 401 whose reason is in the WWW-Authenticate header, as a token endpoint answers a client it does not accept.
    const parameters = error.cause[0]?.parameters;
    return refusal(error.status, parameters?.error ?? `HTTP ${error.status}`, parameters?.error_description, stage, issuer, error);
  }
  if (error instanceof oidc.AuthorizationResponseError) {
    const reason = error.error_description ? `${error.error}: ${error.error_description}` : error.error;
    return new TngError('denied', 'oidc.authorization-denied', `The login was not completed at the issuer (${reason}).`, {
      hint: 'Run `tng login` again and complete the login in the browser.',
      cause: error,
    });
  }
  const code = (error as { code?: string }).code;
  const cause = (error as { cause?: unknown }).cause;
  if (isTransport(error)) return networkError(error, 'the issuer', issuer);
  if (cause !== undefined && isTransport(cause)) return networkError(cause, 'the issuer', issuer);
  if (code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' || code === 'OAUTH_RESPONSE_IS_NOT_JSON') {
    const status = (cause as { status?: number } | undefined)?.status ?? (error as { status?: number }).status;
    if (status !== undefined && isUnavailableStatus(status)) return issuerUnavailable(issuer, stage, status, error);
    if (stage !== 'discovery' && (status === 400 || status === 401 || status === 403)) {
      return new TngError('denied', 'oidc.denied', `The issuer ${issuer} refused ${stage} (HTTP ${status}, with an answer that is not OAuth's).`, {
        hint: 'Something in front of the issuer (a proxy or web firewall) may have answered: check the network and HTTPS_PROXY, then run `tng login` again.',
        cause: error,
      });
    }
    return usageError('oidc.bad-response', `The issuer ${issuer} gave an unusable answer during ${stage}${status ? ` (HTTP ${status})` : ''}.`, 'Check that issuer is the exact Dex issuer URL (e.g. https://dex.example.com/dex).', error);
  }
  if (stage === 'discovery') {
    return usageError('oidc.discovery', `Discovery at ${issuer} failed: ${describe(error)}.`, 'Check that issuer is the exact Dex issuer URL (e.g. https://dex.example.com/dex).', error);
  }
  return new TngError('denied', 'oidc.id-token-invalid', `The ID token from ${issuer} failed validation (${describe(error)}).`, {
    hint: 'Check client_id and the clock of this machine (`tng doctor`); then run `tng login` again.',
    cause: error,
  });
}

/** The contract's exit 6: a server that answered 412, 429 or 5xx is unavailable, whatever its body says. */
function isUnavailableStatus(status: number): boolean {
  return status === 412 || status === 429 || status >= 500;
}

function issuerUnavailable(issuer: string, stage: string, status: number, cause: unknown): TngError {
  return new TngError('unavailable', 'oidc.unavailable', `The issuer ${issuer} failed during ${stage} (HTTP ${status}).`, {
    hint: 'The identity provider is having trouble; retry shortly.',
    cause,
  });
}

/**
 * An OAuth error answer. `invalid_grant` alone says the grant itself (a refresh token, a code) is dead;
 * `invalid_client` says the issuer does not accept the client (its id or secret), whatever the grant.
 */
function refusal(status: number, code: string, description: string | undefined, stage: string, issuer: string, cause: unknown): TngError {
  if (isUnavailableStatus(status)) return issuerUnavailable(issuer, stage, status, cause);
  const reason = description ? `${code}: ${description}` : code;
  if (code === 'invalid_client' || code === 'unauthorized_client') {
    return new TngError('denied', 'oidc.client-refused', `The issuer refused tng's client during ${stage} (${reason}).`, {
      hint: 'Check client_id, and the client secret if Dex requires one (`tng init --client-secret-stdin`), with your Dex operators.',
      cause,
    });
  }
  if (code === 'access_denied') {
    return new TngError('denied', 'oidc.denied', `The login was declined at the issuer during ${stage} (${reason}).`, {
      hint: 'Run `tng login` again and approve the login.',
      cause,
    });
  }
  if (code === 'expired_token') {
    return new TngError('denied', 'oidc.denied', `The device code expired before the login was approved (${reason}).`, {
      hint: 'Run `tng login --device-code` again and approve it within the time shown.',
      cause,
    });
  }
  return new TngError('denied', code === 'invalid_grant' ? 'oidc.invalid-grant' : 'oidc.denied', `The issuer refused ${stage} (${reason}).`, {
    hint: 'Run `tng login` again; if it keeps failing, check client_id and scopes with your Dex operators.',
    cause,
  });
}

function isTransport(error: unknown): boolean {
  if (error instanceof TngError) return true;
  const name = (error as { name?: string }).name;
  if (name === 'TimeoutError' || name === 'AbortError' || error instanceof ProxiedRequestError) return true;
  return error instanceof TypeError && /fetch failed|network|terminated/i.test(describe(error));
}

/** OIDC discovery at the issuer; the configuration the other calls use. */
export async function discover(options: IssuerOptions): Promise<oidc.Configuration> {
  const issuerUrl = new URL(options.issuer);
  const insecure = issuerUrl.protocol === 'http:';
  try {
    const config = await oidc.discovery(
      issuerUrl,
      options.clientId,
      undefined,
      options.clientSecret === undefined ? oidc.None() : oidc.ClientSecretBasic(options.clientSecret),
      { [oidc.customFetch]: withFetch(options.fetch), execute: insecure ? [oidc.allowInsecureRequests] : [] },
    );
    config[oidc.customFetch] = withFetch(options.fetch);
    return config;
  } catch (error) {
    throw oidcError(error, 'discovery', options.issuer);
  }
}

function claimsOf(tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers, issuer: string): IdentityClaims {
  const claims = tokens.claims();
  if (!tokens.id_token || !claims) {
    throw new TngError('denied', 'oidc.no-id-token', `The issuer ${issuer} returned no ID token.`, {
      hint: 'Make sure the profile requests the "openid" scope.',
    });
  }
  const groups = Array.isArray(claims.groups) ? claims.groups.filter((g): g is string => typeof g === 'string') : [];
  return {
    issuer: claims.iss,
    subject: claims.sub,
    email: typeof claims.email === 'string' ? claims.email : null,
    groups,
    expiresAt: claims.exp,
  };
}

function toTokens(tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers, issuer: string): OidcTokens {
  const claims = claimsOf(tokens, issuer);
  return { idToken: tokens.id_token as string, refreshToken: tokens.refresh_token, claims };
}

export interface AuthCodeOptions {
  scopes: string[];
  redirectPort?: number;
  noBrowser: boolean;
  timeoutMs: number;
  browser: Browser;
  io: IO;
  signal?: AbortSignal;
}

/** Authorization code + PKCE (S256) with state and nonce, through a one-shot loopback listener. */
export async function authCodeLogin(config: oidc.Configuration, options: AuthCodeOptions): Promise<OidcTokens> {
  const issuer = config.serverMetadata().issuer;
  const verifier = oidc.randomPKCECodeVerifier();
  const challenge = await oidc.calculatePKCECodeChallenge(verifier);
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const listener = await startLoopbackListener({
    port: options.redirectPort,
    expectedState: state,
    timeoutMs: options.timeoutMs,
    signal: options.signal,
  });
  try {
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: listener.redirectUri,
      scope: options.scopes.join(' '),
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state,
      nonce,
    }).href;
    if (options.noBrowser) {
      options.io.info(`Open this URL in a browser to log in:\n\n  ${url}\n`);
    } else if (await options.browser.open(url)) {
      options.io.info(`Opened the browser for the login at ${issuer}.`);
      options.io.info(`If it did not open, visit:\n\n  ${url}\n`);
    } else {
      options.io.info(`Could not open a browser. Open this URL to log in:\n\n  ${url}\n`);
    }
    options.io.info('Waiting for the login to finish in the browser…');
    const callback = await listener.callback;
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
    return toTokens(tokens, issuer);
  } catch (error) {
    throw oidcError(error, 'the login', issuer);
  } finally {
    listener.close();
  }
}

/** A refresh-token grant: a fresh ID token (and, with Dex, a rotated refresh token). */
export async function refreshLogin(config: oidc.Configuration, refreshToken: string): Promise<OidcTokens> {
  const issuer = config.serverMetadata().issuer;
  try {
    const tokens = await oidc.refreshTokenGrant(config, refreshToken);
    const result = toTokens(tokens, issuer);
    // Dex rotates on every use; an issuer that does not keeps the old one valid.
    return { ...result, refreshToken: result.refreshToken ?? refreshToken };
  } catch (error) {
    throw oidcError(error, 'the refresh-token login', issuer);
  }
}

export interface DeviceCodeOptions {
  scopes: string[];
  browser: Browser;
  /** Hand verification_uri_complete (or the URI) to $BROWSER too, as the contract says. */
  openBrowser: boolean;
  io: IO;
  signal?: AbortSignal;
  /** How long to wait for the approval. */
  timeoutMs: number;
}

/** The device authorization grant (RFC 8628): show a URL and a code, poll until the person approves. */
export async function deviceCodeLogin(config: oidc.Configuration, options: DeviceCodeOptions): Promise<OidcTokens> {
  const issuer = config.serverMetadata().issuer;
  try {
    const authorization = await oidc.initiateDeviceAuthorization(config, { scope: options.scopes.join(' ') });
    const target = authorization.verification_uri_complete ?? authorization.verification_uri;
    showDeviceCode(options.io, { uri: authorization.verification_uri, code: authorization.user_code, complete: authorization.verification_uri_complete });
    if (options.openBrowser) await options.browser.open(target);
    // openid-client stops applying the code's own expiry once given a signal, so the deadline is part of it.
    const deadline = AbortSignal.timeout(options.timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
    const tokens = await oidc.pollDeviceAuthorizationGrant(config, authorization, undefined, { signal });
    return toTokens(tokens, issuer);
  } catch (error) {
    if (options.signal?.aborted) {
      throw loginInterrupted();
    }
    if (error instanceof Error && error.name === 'TimeoutError') {
      throw new TngError('noSession', 'login.timeout', `The device code was not approved within ${Math.round(options.timeoutMs / 1000)} s.`, {
        hint: 'Run `tng login --device-code` again and approve it within the time shown.',
        cause: error,
      });
    }
    throw oidcError(error, 'the device-code login', issuer);
  }
}
