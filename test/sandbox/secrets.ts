/**
 * Every secret the sandbox hands out in this process: Vault tokens, Dex's refresh, ID and access tokens,
 * authorization and device codes, AWS secret keys and session tokens, client secrets, PINs and
 * hmac-secret outputs. The sandbox servers record here as they issue; the hygiene scans
 * (test/e2e/hygiene.ts) look for each of them wherever tng may have put something.
 *
 * Accessors, access key ids, subjects and the like are not secrets and are not recorded. Values shorter
 * than MIN_SECRET_LENGTH are ignored: a 4-digit PIN would match by chance in any hex string.
 */

export type SecretKind =
  | 'vault-token'
  | 'refresh-token'
  | 'id-token'
  | 'access-token'
  | 'authorization-code'
  | 'device-code'
  | 'aws-secret-key'
  | 'aws-session-token'
  | 'client-secret'
  | 'pin'
  | 'hmac-output'
  | 'endpoint-token';

export interface IssuedSecret {
  kind: SecretKind;
  value: string;
}

export const MIN_SECRET_LENGTH = 8;

const issued = new Map<string, SecretKind>();

/**
 * Records a secret. Binary secrets are recorded in each text form tng could write them in (hex,
 * base64 without its padding, base64url), so a scan finds them however they were encoded.
 */
export function recordSecret(kind: SecretKind, value: string | Uint8Array | null | undefined): void {
  if (value === null || value === undefined) return;
  const forms =
    typeof value === 'string'
      ? [value]
      : [Buffer.from(value).toString('hex'), Buffer.from(value).toString('base64').replace(/=+$/, ''), Buffer.from(value).toString('base64url')];
  for (const form of forms) {
    if (form.length >= MIN_SECRET_LENGTH && !issued.has(form)) issued.set(form, kind);
  }
}

/** Everything recorded so far in this process, oldest first. */
export function issuedSecrets(): IssuedSecret[] {
  return [...issued].map(([value, kind]) => ({ kind, value }));
}
