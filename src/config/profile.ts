import { usageError } from '../errors.ts';
import { parseDuration } from '../duration.ts';
import { requireSecureUrl } from '../net/url.ts';

export type VaultAuth = 'jwt' | 'oidc';
export type AwsCredentialType = 'sts' | 'creds';
export type TouchPolicy = 'login' | 'exec' | 'never';
export type UvPolicy = 'required' | 'discouraged';

export interface Fido2Entry {
  credential_id: string;
  public_key: string;
  aaguid: string;
  rp_id: string;
  salt: string;
  uv: UvPolicy;
}

/** A profile as written in config.toml: the contract's keys, all optional until validated. */
export interface ProfileTable {
  issuer?: string;
  client_id?: string;
  scopes?: string[];
  redirect_port?: number;
  vault_addr?: string;
  vault_namespace?: string;
  vault_cacert?: string;
  vault_auth?: VaultAuth;
  vault_auth_mount?: string;
  vault_role?: string;
  aws_mount?: string;
  aws_role?: string;
  aws_role_arn?: string;
  aws_credential_type?: AwsCredentialType;
  aws_ttl?: string;
  aws_region?: string;
  touch?: TouchPolicy;
  fido2?: Fido2Entry[];
}

/** A validated profile with every default applied. */
export interface Profile {
  name: string;
  issuer: string;
  clientId: string;
  scopes: string[];
  redirectPort: number | undefined;
  vaultAddr: string;
  vaultNamespace: string | undefined;
  vaultCacert: string | undefined;
  vaultAuth: VaultAuth;
  vaultAuthMount: string;
  vaultRole: string;
  awsMount: string;
  awsRole: string | undefined;
  awsRoleArn: string | undefined;
  awsCredentialType: AwsCredentialType;
  awsTtlSeconds: number;
  awsRegion: string | undefined;
  touch: TouchPolicy;
  fido2: Fido2Entry[];
}

export const DEFAULT_SCOPES = ['openid', 'email', 'profile', 'groups', 'offline_access'];

type KeyKind = 'string' | 'string[]' | 'port' | 'enum' | 'duration' | 'fido2';
interface KeySpec {
  kind: KeyKind;
  values?: readonly string[];
  required?: boolean;
  description: string;
}

/** Every profile key of the contract: what it holds and whether it is required. */
export const PROFILE_KEYS: Record<keyof ProfileTable, KeySpec> = {
  issuer: { kind: 'string', required: true, description: 'OIDC issuer (Dex), e.g. https://dex.example.com/dex' },
  client_id: { kind: 'string', required: true, description: 'OIDC client registered in Dex' },
  scopes: { kind: 'string[]', description: 'OIDC scopes (comma-separated on the command line)' },
  redirect_port: { kind: 'port', description: 'fixed port for the loopback redirect' },
  vault_addr: { kind: 'string', required: true, description: 'Vault address' },
  vault_namespace: { kind: 'string', description: 'Vault namespace (X-Vault-Namespace)' },
  vault_cacert: { kind: 'string', description: 'PEM file trusted for Vault and the issuer' },
  vault_auth: { kind: 'enum', values: ['jwt', 'oidc'], description: 'Vault auth method: jwt or oidc' },
  vault_auth_mount: { kind: 'string', description: 'mount path of the Vault auth method' },
  vault_role: { kind: 'string', required: true, description: 'role at the Vault auth method' },
  aws_mount: { kind: 'string', description: 'Vault AWS secrets engine mount' },
  aws_role: { kind: 'string', description: 'Vault AWS secrets engine role' },
  aws_role_arn: { kind: 'string', description: 'role_arn sent when the Vault role allows several' },
  aws_credential_type: { kind: 'enum', values: ['sts', 'creds'], description: 'sts or creds' },
  aws_ttl: { kind: 'duration', description: 'requested lifetime of STS credentials' },
  aws_region: { kind: 'string', description: 'exported as AWS_REGION and AWS_DEFAULT_REGION' },
  touch: { kind: 'enum', values: ['login', 'exec', 'never'], description: 'when the hardware key is touched' },
  fido2: { kind: 'fido2', description: 'enrolled authenticators (written by tng enroll)' },
};

export const REQUIRED_KEYS = (Object.keys(PROFILE_KEYS) as (keyof ProfileTable)[]).filter(
  (key) => PROFILE_KEYS[key].required,
);

function invalid(profile: string, key: string, problem: string, hint?: string): never {
  throw usageError(
    'config.invalid',
    `Invalid config: profiles.${profile}.${key} ${problem}.`,
    hint ?? `Fix it in the config file, or run \`tng init --profile ${profile} --${key.replace(/_/g, '-')} VALUE\`.`,
  );
}

/** `tng enroll` writes the fido2 entries: a damaged one is mended by enrolling again, not by a flag. */
const fido2Hint = (profile: string) => `Fix the [[profiles.${profile}.fido2]] entry in the config file as \`tng enroll\` wrote it, or remove it and enrol the key again.`;

const FIDO2_FIELDS = ['credential_id', 'public_key', 'aaguid', 'rp_id', 'salt', 'uv'] as const;

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What is wrong with one field of an enrolled key's entry, as `tng enroll` writes them. */
function fido2FieldProblem(field: (typeof FIDO2_FIELDS)[number], value: string): string | undefined {
  switch (field) {
    case 'credential_id':
    case 'public_key':
      return BASE64URL.test(value) ? undefined : 'must be base64url';
    case 'salt':
      return BASE64URL.test(value) && Buffer.from(value, 'base64url').length === 32 ? undefined : 'must be 32 bytes in base64url';
    case 'aaguid':
      return UUID.test(value) ? undefined : 'must be a UUID';
    case 'rp_id':
      return value === '' ? 'must not be empty' : undefined;
    case 'uv':
      return value === 'required' || value === 'discouraged' ? undefined : 'must be "required" or "discouraged"';
  }
}

/** Checks one key's value against its spec; returns the value in its table form. */
export function checkProfileValue(profile: string, key: keyof ProfileTable, value: unknown): unknown {
  const spec = PROFILE_KEYS[key];
  switch (spec.kind) {
    case 'string':
      if (typeof value !== 'string' || value.trim() === '') invalid(profile, key, 'must be a non-empty string');
      return value;
    case 'string[]':
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v === '')) {
        invalid(profile, key, 'must be a list of strings');
      }
      return value;
    case 'port':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) {
        invalid(profile, key, 'must be a port number from 1 to 65535');
      }
      return value;
    case 'enum':
      if (typeof value !== 'string' || !spec.values?.includes(value)) {
        invalid(profile, key, `must be one of ${spec.values?.map((v) => `"${v}"`).join(', ')}`);
      }
      return value;
    case 'duration':
      if (typeof value !== 'string') invalid(profile, key, 'must be a duration string such as "15m"');
      try {
        if (parseDuration(value) <= 0) throw new Error('zero');
      } catch {
        invalid(profile, key, `must be a duration such as "15m", got "${value}"`);
      }
      return value;
    case 'fido2':
      if (!Array.isArray(value)) invalid(profile, key, 'must be an array of tables', fido2Hint(profile));
      for (const entry of value) {
        if (typeof entry !== 'object' || entry === null) invalid(profile, key, 'entries must be tables', fido2Hint(profile));
        for (const field of FIDO2_FIELDS) {
          if (typeof (entry as Record<string, unknown>)[field] !== 'string') {
            invalid(profile, `${key}.${field}`, 'is missing', fido2Hint(profile));
          }
        }
        for (const field of FIDO2_FIELDS) {
          const problem = fido2FieldProblem(field, (entry as Fido2Entry)[field]);
          if (problem !== undefined) invalid(profile, `${key}.${field}`, problem, fido2Hint(profile));
        }
      }
      return value;
  }
}

/** Validates a profile table from the config file and applies the contract's defaults. */
export function validateProfile(name: string, raw: unknown): Profile {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw usageError('config.invalid', `Invalid config: profiles.${name} is not a table.`, 'Fix the config file or run `tng init`.');
  }
  const table = raw as Record<string, unknown>;
  for (const key of Object.keys(table)) {
    // Own keys only: `constructor` or `toString` are "in" every object, and are no profile keys.
    if (!Object.hasOwn(PROFILE_KEYS, key)) {
      invalid(name, key, 'is not a known key', `Remove or rename it in the config file; \`tng init --help\` lists the keys (as --kebab-case flags).`);
    }
    checkProfileValue(name, key as keyof ProfileTable, table[key]);
  }
  if (Array.isArray(table.scopes) && !table.scopes.includes('openid')) {
    invalid(name, 'scopes', 'must include "openid" (without it the issuer gives no ID token)');
  }
  const missing = REQUIRED_KEYS.filter((key) => table[key] === undefined);
  if (missing.length > 0) {
    throw usageError(
      'config.incomplete',
      `Profile "${name}" lacks ${missing.join(', ')}.`,
      `Run \`tng init --profile ${name} ${missing.map((k) => `--${k.replace(/_/g, '-')} VALUE`).join(' ')}\`.`,
    );
  }
  const t = table as ProfileTable;
  const issuer = t.issuer as string;
  const vaultAddr = t.vault_addr as string;
  requireSecureUrl(issuer, `profiles.${name}.issuer`);
  requireSecureUrl(vaultAddr, `profiles.${name}.vault_addr`);
  const vaultAuth = t.vault_auth ?? 'jwt';
  const fido2 = t.fido2 ?? [];
  return {
    name,
    issuer,
    clientId: t.client_id as string,
    scopes: t.scopes ?? DEFAULT_SCOPES,
    redirectPort: t.redirect_port,
    vaultAddr: vaultAddr.replace(/\/+$/, ''),
    vaultNamespace: t.vault_namespace,
    vaultCacert: t.vault_cacert,
    vaultAuth,
    vaultAuthMount: t.vault_auth_mount ?? vaultAuth,
    vaultRole: t.vault_role as string,
    awsMount: t.aws_mount ?? 'aws',
    awsRole: t.aws_role,
    awsRoleArn: t.aws_role_arn,
    awsCredentialType: t.aws_credential_type ?? 'sts',
    awsTtlSeconds: parseDuration(t.aws_ttl ?? '15m'),
    awsRegion: t.aws_region,
    touch: t.touch ?? (fido2.length > 0 ? 'login' : 'never'),
    fido2,
  };
}
