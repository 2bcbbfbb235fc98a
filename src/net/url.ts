import { isIP } from 'node:net';
import { usageError } from '../errors.ts';

/** Loopback hosts as the contract names them: 127.0.0.0/8, ::1 and localhost (a hostname as URL parses it). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}

/**
 * The issuer and Vault must be https://, except on loopback hosts where http:// is accepted.
 * Returns the parsed URL or throws a usage error naming the config key.
 */
export function requireSecureUrl(value: string, key: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch (cause) {
    throw usageError('config.url-invalid', `${key} "${value}" is not a URL.`, `Set ${key} to an https:// URL.`, cause);
  }
  if (url.username !== '' || url.password !== '') {
    // Said without the value: it holds a password.
    throw usageError(
      'config.url-credentials',
      `${key} must not carry a user name or password (user:password@).`,
      `Remove the user:password@ part from ${key}: tng signs in through the issuer, never with a password in a URL.`,
    );
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return url;
  throw usageError(
    'config.url-insecure',
    `${key} must use https:// (http:// is accepted only on loopback hosts), got "${value}".`,
    `Set ${key} to an https:// URL.`,
  );
}

/** `text` as an http:// or https:// URL with a host, or undefined when it is no such URL. */
export function parseHttpUrl(text: string): URL | undefined {
  try {
    const url = new URL(text);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.hostname !== '' ? url : undefined;
  } catch {
    return undefined;
  }
}
