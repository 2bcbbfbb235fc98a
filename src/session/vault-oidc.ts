import { randomBytes } from 'node:crypto';
import type { Profile } from '../config/profile.ts';
import type { Deps } from '../deps.ts';
import { TngError, noSessionError, usageError } from '../errors.ts';
import { startLoopbackListener } from '../oidc/loopback.ts';
import type { VaultAuth, VaultClient } from '../vault/client.ts';

/** The port `vault login -method=oidc` listens on unless told otherwise. */
export const VAULT_OIDC_DEFAULT_PORT = 8250;

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A client nonce as the Vault CLI makes it: 20 base62 characters. */
export function clientNonce(): string {
  return [...randomBytes(20)].map((byte) => BASE62[byte % 62]).join('');
}

export interface VaultOidcOptions {
  noBrowser: boolean;
  timeoutMs: number;
}

/**
 * Vault's OIDC auth method, the way `vault login -method=oidc` drives it: Vault is the OIDC client, tng
 * only carries the browser round trip — auth_url → browser → callback on http://localhost:PORT/oidc/callback
 * → Vault's callback endpoint with the client nonce. tng never sees the issuer's tokens in this mode.
 */
export async function vaultOidcLogin(
  profile: Profile,
  options: VaultOidcOptions,
  deps: Pick<Deps, 'io' | 'signal' | 'browser'>,
  vault: VaultClient,
): Promise<VaultAuth> {
  if (!deps.io.canPrompt()) {
    throw noSessionError('Vault\'s OIDC method needs a person at a browser, and there is no TTY.');
  }
  const port = profile.redirectPort ?? VAULT_OIDC_DEFAULT_PORT;
  const redirectUri = `http://localhost:${port}/oidc/callback`;
  const nonce = clientNonce();
  const authUrl = await vault.oidcAuthUrl(profile.vaultAuthMount, profile.vaultRole, redirectUri, nonce);
  if (authUrl === '') {
    throw usageError(
      'vault.oidc-redirect',
      `Vault gave no auth_url for role "${profile.vaultRole}": it does not allow the redirect URI ${redirectUri} (or its OIDC provider setup failed).`,
      `Add ${redirectUri} to the role's allowed_redirect_uris, or set redirect_port to a port it allows; Vault's server log has details.`,
    );
  }
  const state = new URL(authUrl).searchParams.get('state');
  if (!state) {
    throw new TngError('unavailable', 'vault.oidc-auth-url', 'Vault\'s auth_url carries no state parameter.', {
      hint: 'Check the Vault OIDC auth method configuration with your Vault operators.',
    });
  }
  const listener = await startLoopbackListener({
    hosts: ['127.0.0.1', '::1'],
    redirectHost: 'localhost',
    port,
    path: '/oidc/callback',
    expectedState: state,
    timeoutMs: options.timeoutMs,
    signal: deps.signal,
  });
  try {
    const browser = await deps.browser();
    if (options.noBrowser) {
      deps.io.info(`Open this URL in a browser to log in through Vault:\n\n  ${authUrl}\n`);
    } else if (await browser.open(authUrl)) {
      deps.io.info(`Opened the browser for the login through Vault at ${vault.addr}.`);
      deps.io.info(`If it did not open, visit:\n\n  ${authUrl}\n`);
    } else {
      deps.io.info(`Could not open a browser. Open this URL to log in:\n\n  ${authUrl}\n`);
    }
    deps.io.info('Waiting for the login to finish in the browser…');
    const callback = await listener.callback;
    const error = callback.searchParams.get('error');
    if (error !== null) {
      const description = callback.searchParams.get('error_description');
      throw new TngError('denied', 'oidc.authorization-denied', `The login was not completed at the issuer (${description ? `${error}: ${description}` : error}).`, {
        hint: 'Run `tng login` again and complete the login in the browser.',
      });
    }
    return await vault.oidcCallback(profile.vaultAuthMount, {
      state,
      code: callback.searchParams.get('code') ?? '',
      clientNonce: nonce,
    });
  } finally {
    listener.close();
  }
}
