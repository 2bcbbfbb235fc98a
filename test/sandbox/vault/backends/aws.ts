// Vault's AWS secrets engine (builtin/logical/aws), the part that hands out credentials:
// `GET|POST <mount>/creds/<role>` and `GET|POST <mount>/sts/<role>`. There is no AWS behind it: the
// "AWS side" (STS AssumeRole / GetFederationToken / GetSessionToken, IAM CreateUser + CreateAccessKey) is
// modelled here, and every credential handed out goes into an AwsCredentialRegistry, which the STS sandbox
// (../../sts.ts) consults to verify SigV4 signatures and to answer GetCallerIdentity.
import { createHash, randomBytes } from 'node:crypto';
import { DurationError, parseDurationSeconds } from '../duration.ts';
import { badRequest, envelope, stringField } from '../http.ts';
import type { VaultRequest, VaultResponse } from '../http.ts';
import { randomBase62, uuid } from '../ids.ts';
import type { Backend, Route } from '../router.ts';
import { MOUNT_DEFAULT_TTL, MOUNT_MAX_TTL } from '../tokens.ts';
import type { TokenStore } from '../tokens.ts';
import { recordSecret } from '../../secrets.ts';

export type AwsCredentialType = 'assumed_role' | 'federation_token' | 'session_token' | 'iam_user';

const CREDENTIAL_TYPES: readonly AwsCredentialType[] = ['assumed_role', 'federation_token', 'session_token', 'iam_user'];
const STS_TYPES: readonly AwsCredentialType[] = ['assumed_role', 'federation_token', 'session_token'];

/** A Vault role of the AWS secrets engine (the fields of `<mount>/roles/<name>` the sandbox uses). */
export interface AwsRole {
  credential_type: AwsCredentialType;
  /** IAM role ARNs an assumed_role role may assume; `role_arn` picks one when there are several. */
  role_arns?: string[];
  /** Seconds or a duration string; STS types only. */
  default_sts_ttl?: number | string;
  /** Seconds or a duration string; STS types only. A larger requested `ttl` is capped to it, as in Vault. */
  max_sts_ttl?: number | string;
  policy_arns?: string[];
  policy_document?: string;
  /**
   * A role written with Vault's deprecated `arn`/`policy` parameters: then `creds/` serves only iam_user
   * credentials and `sts/` only STS ones (Vault answers 400 otherwise). Modern roles work on both paths.
   */
  legacy?: boolean;
  /**
   * Sandbox only, not a Vault field: issued credentials live this many seconds whatever the ttl, so tests
   * can watch credentials run out (AWS itself never issues STS credentials for less than 900 s).
   */
  sandbox_lifetime_seconds?: number;
}

export interface AwsMountConfig {
  /** The AWS account of the credentials (assumed roles use their ARN's account). Default "123456789012". */
  account?: string;
  /** Answer like Vault < 1.16: STS credentials only as `security_token`, no `session_token` field. */
  legacySecurityTokenOnly?: boolean;
  /**
   * The AWS side: MaxSessionDuration of the IAM roles in `role_arns` (seconds or duration; 1h–12h).
   * Default 1h — AWS's default for a role, and AWS's limit when Vault's own credentials are an assumed role.
   */
  maxSessionDuration?: number | string;
}

/** What issued() tells about a credential: no secret, no session token. */
export interface IssuedAwsCredential {
  accessKeyId: string;
  type: AwsCredentialType;
  /** The Vault role it was issued for. */
  role: string;
  /** The mount path, e.g. "aws". */
  mount: string;
  /** ms since the epoch; the credential is refused by the STS sandbox from then on. */
  expiresAt: number;
  /** assumed_role: the role session name; federation_token: the federated user's name. */
  sessionName?: string;
  /** The principal GetCallerIdentity reports. */
  arn: string;
  account: string;
}

/** A credential with everything the STS sandbox needs to verify requests signed with it. */
export interface AwsCredentialRecord extends IssuedAwsCredential {
  secretAccessKey: string;
  /** STS types only. */
  sessionToken?: string;
  /** GetCallerIdentity's UserId, e.g. "AROA…:session" or "AIDA…". */
  userId: string;
  /** ms since the epoch */
  issuedAt: number;
}

/** An identity that has its own credentials outside Vault, e.g. a Lambda function's execution role session. */
export interface StaticIdentity {
  /** What GetCallerIdentity reports, e.g. "arn:aws:sts::123456789012:assumed-role/tng-fn-role/my-function". */
  arn: string;
  /** Default: generated ("ASIA…" with a session token, as the Lambda environment has). */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Default: a generated one; `null` for long-term keys without a session token. */
  sessionToken?: string | null;
  /** ms since the epoch; default 12 hours from now. */
  expiresAt?: number;
}

/** The credentials of a static identity, shaped as the AWS SDKs take them. */
export interface StaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  arn: string;
}

/**
 * Every credential the Vault sandbox's AWS mounts have issued, shared with the STS sandbox, plus static
 * identities registered with `addStatic()` (which `issued()` and `issuanceCount()` leave out).
 */
export class AwsCredentialRegistry {
  private readonly byKey = new Map<string, AwsCredentialRecord>();
  private readonly statics = new Map<string, AwsCredentialRecord>();

  add(record: AwsCredentialRecord): void {
    recordSecret('aws-secret-key', record.secretAccessKey);
    recordSecret('aws-session-token', record.sessionToken);
    this.byKey.set(record.accessKeyId, { ...record });
  }

  /**
   * Registers credentials for an identity Vault did not issue, such as a Lambda execution role's session
   * (`arn:aws:sts::<acct>:assumed-role/<role>/<function>`, UserId `AROA…:<function>`), and returns them.
   */
  addStatic(identity: StaticIdentity): StaticCredentials {
    const parsed = /^arn:aws[a-z-]*:(?:sts|iam)::(\d{12}):(assumed-role|user)\/(.+)$/.exec(identity.arn);
    if (!parsed) throw new Error(`not an IAM user or assumed-role ARN: ${JSON.stringify(identity.arn)}`);
    const [, account, kind, rest] = parsed as unknown as [string, string, string, string];
    const temporary = identity.sessionToken !== null;
    const id = identity.accessKeyId ?? accessKeyId(temporary ? 'ASIA' : 'AKIA');
    if (this.lookup(id)) throw new Error(`access key id ${id} is already registered`);
    const session = kind === 'assumed-role' ? rest.split('/').slice(1).join('/') : undefined;
    const roleName = kind === 'assumed-role' ? (rest.split('/')[0] ?? '') : rest;
    const record: AwsCredentialRecord = {
      accessKeyId: id,
      secretAccessKey: identity.secretAccessKey ?? secretAccessKey(),
      ...(temporary ? { sessionToken: identity.sessionToken ?? sessionToken() } : {}),
      type: temporary ? 'assumed_role' : 'iam_user',
      role: '',
      mount: '',
      issuedAt: Date.now(),
      expiresAt: identity.expiresAt ?? Date.now() + 12 * 3600 * 1000,
      ...(session !== undefined ? { sessionName: session } : {}),
      arn: identity.arn,
      userId: kind === 'assumed-role' ? `${uniqueId('AROA', `arn:aws:iam::${account}:role/${roleName}`)}:${session}` : uniqueId('AIDA', identity.arn),
      account,
    };
    recordSecret('aws-secret-key', record.secretAccessKey);
    recordSecret('aws-session-token', record.sessionToken);
    this.statics.set(id, record);
    return { accessKeyId: id, secretAccessKey: record.secretAccessKey, ...(record.sessionToken !== undefined ? { sessionToken: record.sessionToken } : {}), arn: record.arn };
  }

  /** The full record (with secrets) for an access key id, or undefined for one never issued. */
  lookup(accessKeyId: string): AwsCredentialRecord | undefined {
    const record = this.byKey.get(accessKeyId) ?? this.statics.get(accessKeyId);
    return record ? { ...record } : undefined;
  }

  /** Every credential issued, in order, without secrets or session tokens. */
  issued(): IssuedAwsCredential[] {
    return [...this.byKey.values()].map((r) => {
      const view: IssuedAwsCredential = {
        accessKeyId: r.accessKeyId,
        type: r.type,
        role: r.role,
        mount: r.mount,
        expiresAt: r.expiresAt,
        arn: r.arn,
        account: r.account,
      };
      if (r.sessionName !== undefined) view.sessionName = r.sessionName;
      return view;
    });
  }

  /** How many credentials were issued, for one Vault role (any mount) or in all. */
  issuanceCount(role?: string): number {
    if (role === undefined) return this.byKey.size;
    let n = 0;
    for (const r of this.byKey.values()) if (r.role === role) n++;
    return n;
  }

  /**
   * Ends the life of one credential, or of all, now. The STS sandbox then answers ExpiredToken for STS
   * credentials and InvalidClientTokenId for iam_user keys (Vault deletes the user when the lease ends).
   * Returns how many were still alive; throws for an access key id never issued.
   */
  expireCredentials(accessKeyId?: string): number {
    const now = Date.now();
    const targets = accessKeyId === undefined ? [...this.byKey.values()] : [this.byKey.get(accessKeyId) ?? this.statics.get(accessKeyId)];
    let n = 0;
    for (const record of targets) {
      if (!record) throw new Error(`no AWS credential has access key id "${accessKeyId}"`);
      if (record.expiresAt > now) n++;
      record.expiresAt = Math.min(record.expiresAt, now);
    }
    return n;
  }
}

interface StoredAwsRole {
  credentialType: AwsCredentialType;
  roleArns: string[];
  defaultStsTtl: number;
  maxStsTtl: number;
  policyArns: string[];
  policyDocument: string;
  legacy: boolean;
  sandboxLifetimeSeconds: number;
}

// ---------------------------------------------------------------------------------------------------
// Identifiers in AWS's formats.

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function fromAlphabet(bytes: Uint8Array, alphabet: string, length: number): string {
  let out = '';
  // Both alphabets have a power-of-two size, so masking keeps the characters uniform.
  for (let i = 0; i < length; i++) out += alphabet[(bytes[i] ?? 0) & (alphabet.length - 1)];
  return out;
}

/** An access key id: "ASIA" (temporary) or "AKIA" (IAM user) + 16 characters, 20 in all. */
function accessKeyId(prefix: 'ASIA' | 'AKIA'): string {
  return prefix + fromAlphabet(randomBytes(16), BASE32, 16);
}

/** A secret access key: 40 characters of the base64 alphabet. */
function secretAccessKey(): string {
  return fromAlphabet(randomBytes(40), BASE64, 40);
}

/** A session token: an opaque base64 blob of several hundred characters, as STS issues them. */
function sessionToken(): string {
  return randomBytes(480).toString('base64');
}

/** A unique id ("AROA…", "AIDA…"): the prefix + 17 characters, stable for `seed` when given. */
function uniqueId(prefix: 'AROA' | 'AIDA', seed?: string): string {
  const bytes = seed === undefined ? randomBytes(17) : createHash('sha256').update(seed).digest();
  return prefix + fromAlphabet(bytes, BASE32, 17);
}

/** Vault's normalizeDisplayName: characters IAM does not allow in names become "_". */
function normalizeName(name: string): string {
  return name.replace(/[^a-zA-Z0-9+=,.@_-]/g, '_');
}

/** arn:aws:iam::<account>:role[/path]/<name> → { account, name } */
function parseRoleArn(arn: string): { account: string; name: string } | undefined {
  const match = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:[\x21-\x7e]*\/)?([\w+=,.@-]{1,64})$/.exec(arn);
  return match ? { account: match[1] ?? '', name: match[2] ?? '' } : undefined;
}

// ---------------------------------------------------------------------------------------------------
// Errors as Vault relays them from the AWS SDK for Go (v1): parameter validation happens in the SDK
// before sending ("InvalidParameter: …"), constraint checks at AWS ("ValidationError: …" + status line).

function sdkValidation(prefix: string, problems: string[]): never {
  const lines = problems.map((p) => `- ${p}\n`).join('');
  throw badRequest(`${prefix}InvalidParameter: ${problems.length} validation error(s) found.\n${lines}`);
}

function awsValidation(prefix: string, message: string): never {
  throw badRequest(`${prefix}ValidationError: ${message}\n\tstatus code: 400, request id: ${uuid()}`);
}

function duration(value: unknown, field: string): number {
  try {
    const seconds = parseDurationSeconds(value);
    if (seconds < 0) throw new DurationError(`negative duration`);
    return seconds;
  } catch (err) {
    if (err instanceof DurationError) throw new Error(`invalid ${field}: ${err.message}`);
    throw err;
  }
}

function stringList(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.map((v) => v.trim()).filter((v) => v !== '');
  throw new Error(`"${field}" must be a list of strings`);
}

/** Checks a role as Vault's roles endpoint does when it is written; throws on an invalid one. */
export function validateAwsRole(role: AwsRole): StoredAwsRole {
  if (!role || typeof role !== 'object') throw new Error('role must be an object');
  const type = role.credential_type;
  if (!CREDENTIAL_TYPES.includes(type)) {
    throw new Error(`unrecognized credential_type: ${JSON.stringify(type)}; must be one of ${CREDENTIAL_TYPES.join(', ')}`);
  }
  const roleArns = stringList(role.role_arns, 'role_arns');
  if (roleArns.length > 0 && type !== 'assumed_role') throw new Error("cannot supply role_arns when credential_type isn't assumed_role");
  for (const arn of roleArns) if (!parseRoleArn(arn)) throw new Error(`invalid role ARN ${JSON.stringify(arn)}`);
  const defaultStsTtl = duration(role.default_sts_ttl, 'default_sts_ttl');
  const maxStsTtl = duration(role.max_sts_ttl, 'max_sts_ttl');
  if ((defaultStsTtl > 0 || maxStsTtl > 0) && !STS_TYPES.includes(type)) {
    throw new Error(`default_sts_ttl and max_sts_ttl are only valid for ${STS_TYPES.join(', ')} credential types`);
  }
  if (maxStsTtl > 0 && defaultStsTtl > maxStsTtl) throw new Error(`max_sts_ttl (${maxStsTtl}) cannot be less than default_sts_ttl (${defaultStsTtl})`);
  if (role.policy_document !== undefined && typeof role.policy_document !== 'string') throw new Error('"policy_document" must be a string');
  return {
    credentialType: type,
    roleArns,
    defaultStsTtl,
    maxStsTtl,
    policyArns: stringList(role.policy_arns, 'policy_arns'),
    policyDocument: role.policy_document ?? '',
    legacy: role.legacy === true,
    sandboxLifetimeSeconds: role.sandbox_lifetime_seconds ?? 0,
  };
}

/** Request fields of creds/ and sts/; anything else is ignored with Vault's warning. */
const KNOWN_FIELDS = new Set(['name', 'role_arn', 'ttl', 'role_session_name', 'mfa_code']);

/** AWS's limits on DurationSeconds of GetFederationToken and GetSessionToken. */
const STS_MIN_DURATION = 900;
const STS_MAX_DURATION = 129600;

export class AwsBackend implements Backend {
  readonly type = 'aws';
  readonly routes: readonly Route[];
  private readonly roles = new Map<string, StoredAwsRole>();
  private readonly account: string;
  private readonly maxSessionDuration: number;
  /** The IAM user whose keys Vault's mount is configured with (GetSessionToken credentials act as it). */
  private readonly rootUser: { arn: string; userId: string };

  /** `name` is the mount path, e.g. "aws". */
  constructor(
    readonly name: string,
    private readonly config: AwsMountConfig,
    private readonly registry: AwsCredentialRegistry,
    private readonly tokens: TokenStore,
  ) {
    this.account = config.account ?? '123456789012';
    if (!/^\d{12}$/.test(this.account)) throw new Error(`AWS account must be 12 digits, got ${JSON.stringify(this.account)}`);
    this.maxSessionDuration = config.maxSessionDuration === undefined ? 3600 : duration(config.maxSessionDuration, 'maxSessionDuration');
    if (this.maxSessionDuration < 3600 || this.maxSessionDuration > 43200) throw new Error('maxSessionDuration must be from 1h to 12h, as for an IAM role');
    this.rootUser = { arn: `arn:aws:iam::${this.account}:user/vault-root`, userId: uniqueId('AIDA', `${this.account}/vault-root`) };
    const creds = (req: VaultRequest): VaultResponse => this.issue(req, 'creds');
    const sts = (req: VaultRequest): VaultResponse => this.issue(req, 'sts');
    this.routes = [
      { pattern: 'creds/:role', handlers: { read: creds, update: creds } },
      { pattern: 'sts/:role', handlers: { read: sts, update: sts } },
    ];
  }

  setRole(name: string, role: AwsRole): void {
    if (typeof name !== 'string' || !/^\w(([\w@.-]+)?\w)?$/.test(name)) throw new Error(`invalid AWS role name ${JSON.stringify(name)}`);
    this.roles.set(name, validateAwsRole(role));
  }

  private issue(req: VaultRequest, path: 'creds' | 'sts'): VaultResponse {
    // Field conversion comes first, as in Vault's framework.
    const rawTtl = req.data.ttl;
    let requestedTtl: number | undefined;
    if (rawTtl !== undefined && rawTtl !== null && rawTtl !== '') {
      try {
        requestedTtl = parseDurationSeconds(rawTtl);
      } catch (err) {
        if (err instanceof DurationError) throw badRequest(`error converting input ${String(rawTtl)} for field "ttl": ${err.message}`);
        throw err;
      }
    }
    const roleArnParam = stringField(req.data, 'role_arn');
    const sessionNameParam = stringField(req.data, 'role_session_name');
    const ignored = Object.keys(req.data).filter((k) => !KNOWN_FIELDS.has(k)).sort();
    const warnings = ignored.length > 0 ? [`Endpoint ignored these unrecognized parameters: [${ignored.join(' ')}]`] : null;

    const roleName = req.params.role ?? '';
    const role = this.roles.get(roleName);
    if (!role) throw badRequest(`Role "${roleName}" not found`);

    // ttl: the request's, else the role's default_sts_ttl, else 3600; capped to max_sts_ttl, else to the
    // mount's max lease TTL. AWS then enforces its own limits.
    let ttl = requestedTtl ?? (role.defaultStsTtl > 0 ? role.defaultStsTtl : 3600);
    ttl = Math.min(ttl, role.maxStsTtl > 0 ? role.maxStsTtl : MOUNT_MAX_TTL);

    const type = role.credentialType;
    if (role.legacy) {
      if (type === 'iam_user' && path === 'sts') {
        throw badRequest('attempted to retrieve iam_user credentials through the sts path; this is not allowed for legacy roles');
      }
      if (type !== 'iam_user' && path === 'creds') {
        throw badRequest(`attempted to retrieve ${type} credentials through the creds path; this is not allowed for legacy roles`);
      }
    }

    const displayName = req.token?.displayName ?? '';
    let issued: { record: AwsCredentialRecord; leaseSeconds: number; renewable: boolean };
    switch (type) {
      case 'assumed_role':
        issued = this.assumeRole(roleName, role, ttl, roleArnParam, sessionNameParam, displayName);
        break;
      case 'federation_token':
        issued = this.federationToken(roleName, role, ttl);
        break;
      case 'session_token':
        issued = this.sessionToken(roleName, ttl);
        break;
      case 'iam_user':
        issued = this.iamUser(roleName, displayName);
        break;
    }
    if (role.sandboxLifetimeSeconds > 0) {
      issued.record.expiresAt = Date.now() + role.sandboxLifetimeSeconds * 1000;
      issued.leaseSeconds = role.sandboxLifetimeSeconds;
    }
    this.registry.add(issued.record);

    const { record } = issued;
    const data: Record<string, unknown> = { access_key: record.accessKeyId, secret_key: record.secretAccessKey };
    const token = record.sessionToken ?? null;
    data.security_token = token;
    if (!this.config.legacySecurityTokenOnly) data.session_token = token;
    if (type === 'assumed_role') data.arn = record.arn;

    const nsSuffix = req.namespace === '' ? '' : `.${this.tokens.namespaceId(req.namespace)}`;
    return envelope({
      data,
      leaseId: `${req.mountPath}${path}/${roleName}/${randomBase62(24)}${nsSuffix}`,
      leaseDuration: issued.leaseSeconds,
      renewable: issued.renewable,
      warnings,
    });
  }

  /** sts:AssumeRole. The lease runs until the credentials' Expiration, as in Vault. */
  private assumeRole(roleName: string, role: StoredAwsRole, ttl: number, roleArnParam: string, sessionNameParam: string, displayName: string) {
    let roleArn = roleArnParam;
    if (roleArn === '') {
      if (role.roleArns.length !== 1) throw badRequest('did not supply a role_arn parameter and unable to determine one');
      roleArn = role.roleArns[0] ?? '';
    } else if (!role.roleArns.includes(roleArn)) {
      throw badRequest(`role_arn "${roleArn}" not in allowed role arns for Vault role "${roleName}"`);
    }
    const sessionName = sessionNameParam !== '' ? normalizeName(sessionNameParam) : this.generatedName(displayName, roleName);

    const prefix = 'Error assuming role: ';
    const problems: string[] = [];
    if (ttl < STS_MIN_DURATION) problems.push(`minimum field value of ${STS_MIN_DURATION}, AssumeRoleInput.DurationSeconds.`);
    if (sessionName.length < 2) problems.push('minimum field size of 2, AssumeRoleInput.RoleSessionName.');
    if (problems.length > 0) sdkValidation(prefix, problems);
    if (sessionName.length > 64) {
      awsValidation(
        prefix,
        `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must have length less than or equal to 64`,
      );
    }
    if (ttl > this.maxSessionDuration) awsValidation(prefix, 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.');

    const parsed = parseRoleArn(roleArn);
    const account = parsed?.account ?? this.account;
    return this.stsCredential('assumed_role', roleName, Date.now(), ttl, {
      sessionName,
      arn: `arn:aws:sts::${account}:assumed-role/${parsed?.name ?? ''}/${sessionName}`,
      // The role id is stable for a role ARN, as AWS's is for a role.
      userId: `${uniqueId('AROA', roleArn)}:${sessionName}`,
      account,
    });
  }

  /** sts:GetFederationToken with the role's policies; the federated user is named from Vault's template. */
  private federationToken(roleName: string, role: StoredAwsRole, ttl: number) {
    const now = Date.now();
    // Vault's default username template for STS: "vault-<unix time>-<random>", at most 32 characters.
    const name = `vault-${Math.floor(now / 1000)}-${randomBase62(20)}`.slice(0, 32);
    if (role.policyDocument === '' && role.policyArns.length === 0) {
      throw badRequest('must specify at least one of policy_arns or policy_document with federation_token credential_type');
    }
    this.checkStsDuration('Error generating STS keys: ', 'GetFederationTokenInput', ttl);
    return this.stsCredential('federation_token', roleName, now, ttl, {
      sessionName: name,
      arn: `arn:aws:sts::${this.account}:federated-user/${name}`,
      userId: `${this.account}:${name}`,
      account: this.account,
    });
  }

  /** sts:GetSessionToken: temporary credentials acting as the IAM user Vault itself is configured with. */
  private sessionToken(roleName: string, ttl: number) {
    this.checkStsDuration('Error generating STS keys: ', 'GetSessionTokenInput', ttl);
    return this.stsCredential('session_token', roleName, Date.now(), ttl, { arn: this.rootUser.arn, userId: this.rootUser.userId, account: this.account });
  }

  /** A fresh STS credential (ASIA key and session token) for `principal`, with Vault's lease for it: not renewable. */
  private stsCredential(
    type: AwsCredentialType,
    roleName: string,
    now: number,
    ttl: number,
    principal: Pick<AwsCredentialRecord, 'sessionName' | 'arn' | 'userId' | 'account'>,
  ) {
    const expiresAt = stsExpiration(now, ttl);
    const record: AwsCredentialRecord = {
      accessKeyId: accessKeyId('ASIA'),
      secretAccessKey: secretAccessKey(),
      sessionToken: sessionToken(),
      type,
      role: roleName,
      mount: this.name,
      issuedAt: now,
      expiresAt,
      ...principal,
    };
    return { record, leaseSeconds: leaseUntil(expiresAt, now), renewable: false };
  }

  /** iam:CreateUser + iam:CreateAccessKey. The lease is the mount's (32 days) and renewable; `ttl` is ignored. */
  private iamUser(roleName: string, displayName: string) {
    const now = Date.now();
    const username = this.generatedName(displayName, roleName);
    const record: AwsCredentialRecord = {
      accessKeyId: accessKeyId('AKIA'),
      secretAccessKey: secretAccessKey(),
      type: 'iam_user',
      role: roleName,
      mount: this.name,
      issuedAt: now,
      expiresAt: now + MOUNT_DEFAULT_TTL * 1000,
      arn: `arn:aws:iam::${this.account}:user/${username}`,
      userId: uniqueId('AIDA'),
      account: this.account,
    };
    return { record, leaseSeconds: MOUNT_DEFAULT_TTL, renewable: true };
  }

  /** Vault's default username template for IAM users and role sessions. */
  private generatedName(displayName: string, roleName: string): string {
    const base = `${normalizeName(displayName)}-${normalizeName(roleName)}`.slice(0, 42);
    return `vault-${base}-${Math.floor(Date.now() / 1000)}-${randomBase62(20)}`.slice(0, 64);
  }

  private checkStsDuration(prefix: string, input: string, ttl: number): void {
    if (ttl < STS_MIN_DURATION) sdkValidation(prefix, [`minimum field value of ${STS_MIN_DURATION}, ${input}.DurationSeconds.`]);
    if (ttl > STS_MAX_DURATION) {
      awsValidation(
        prefix,
        `1 validation error detected: Value '${ttl}' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to ${STS_MAX_DURATION}`,
      );
    }
  }
}

/** STS reports Expiration in whole seconds. */
function stsExpiration(now: number, ttl: number): number {
  return Math.floor(now / 1000) * 1000 + ttl * 1000;
}

/** Vault sets the lease to Expiration − now, in whole seconds (so 3599 for a 1-hour credential). */
function leaseUntil(expiresAt: number, now: number): number {
  return Math.max(0, Math.floor((expiresAt - now) / 1000));
}
