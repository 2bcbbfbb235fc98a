// Vault's AWS auth method, `iam` type (builtin/credential/aws, path_login.go as the API docs describe it):
// `POST auth/<mount>/login` with a signed sts:GetCallerIdentity request in `iam_http_request_method`,
// `iam_request_url`, `iam_request_body` and `iam_request_headers`. Vault does not check the signature itself:
// it REPLAYS the request to its configured STS endpoint, keeping the client's Host and path, and trusts
// whatever identity STS answers with. The sandbox does the same against the STS sandbox (../../sts.ts),
// which verifies SigV4 with AWS's signer. The identity's ARN is made canonical (an assumed-role session
// becomes `arn:aws:iam::<acct>:role/<role>`, paths dropped) and matched against the role's
// `bound_iam_principal_arn` (exact, or a prefix ending in `*`).
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { DurationError, parseDurationSeconds } from '../duration.ts';
import { badRequest, envelope, stringField, VaultError } from '../http.ts';
import type { VaultRequest, VaultResponse } from '../http.ts';
import { stableUuid } from '../ids.ts';
import type { Backend, Route } from '../router.ts';
import { TokenStore } from '../tokens.ts';

export interface AwsAuthMountConfig {
  /** Where Vault replays the signed request (Vault's `sts_endpoint`); default https://sts.amazonaws.com. */
  sts_endpoint?: string;
  /** When set, clients must send (and sign) X-Vault-AWS-IAM-Server-ID with this value. */
  iam_server_id_header_value?: string;
  /** Further X-Amz-* headers a client may send, beyond the built-in allow-list. */
  allowed_sts_header_values?: string[];
}

/** A role of the AWS auth method (the fields of `auth/<mount>/role/<name>` the sandbox uses). */
export interface AwsAuthRole {
  /** Only "iam" is emulated (the default for roles with bound_iam_principal_arn). */
  auth_type?: 'iam';
  /** IAM role or user ARNs; a trailing `*` makes a prefix match. */
  bound_iam_principal_arn: string | string[];
  token_policies?: string[];
  token_ttl?: number | string;
  token_max_ttl?: number | string;
  token_type?: 'service' | 'batch';
}

interface StoredRole {
  bound: string[];
  policies: string[];
  ttl: number;
  maxTtl: number;
  type: 'service' | 'batch';
  id: string;
}

const SERVER_ID_HEADER = 'X-Vault-AWS-IAM-Server-ID';
/** The X-Amz-* headers Vault accepts in the replayed request without configuration. */
const ALLOWED_AMZ = ['x-amz-algorithm', 'x-amz-content-sha256', 'x-amz-credential', 'x-amz-date', 'x-amz-security-token', 'x-amz-signature', 'x-amz-signedheaders', 'x-amz-user-agent'];
const DEFAULT_STS = 'https://sts.amazonaws.com';

function seconds(value: unknown, field: string): number {
  try {
    return parseDurationSeconds(value);
  } catch (err) {
    if (err instanceof DurationError) throw new Error(`invalid ${field}: ${err.message}`);
    throw err;
  }
}

function validateRole(name: string, role: AwsAuthRole): StoredRole {
  if (!role || typeof role !== 'object') throw new Error('role must be an object');
  if (role.auth_type !== undefined && role.auth_type !== 'iam') throw new Error(`the sandbox emulates only auth_type "iam", not ${JSON.stringify(role.auth_type)}`);
  const bound = typeof role.bound_iam_principal_arn === 'string' ? [role.bound_iam_principal_arn] : role.bound_iam_principal_arn;
  if (!Array.isArray(bound) || bound.length === 0 || bound.some((b) => typeof b !== 'string' || !/^arn:aws[a-z-]*:iam::(\d{12}|\*):/.test(b))) {
    throw new Error('bound_iam_principal_arn must name IAM ARNs (arn:aws:iam::<account>:role/… or user/…)');
  }
  const ttl = seconds(role.token_ttl, 'token_ttl');
  const maxTtl = seconds(role.token_max_ttl, 'token_max_ttl');
  if (maxTtl > 0 && ttl > maxTtl) throw new Error('ttl should not be greater than max ttl');
  return { bound: [...bound], policies: [...(role.token_policies ?? [])], ttl, maxTtl, type: role.token_type ?? 'service', id: stableUuid(`aws-role\u0000${name}`) };
}

function decodeBase64(value: string, field: string): string {
  const text = Buffer.from(value, 'base64').toString('utf8');
  if (Buffer.from(text, 'utf8').toString('base64').replace(/=+$/, '') !== value.replace(/=+$/, '').replace(/\s/g, '')) {
    throw badRequest(`failed to base64 decode ${field}`);
  }
  return text;
}

/** Header name → values, with names in Go's canonical form as Vault's http.Header keeps them. */
type Headers = Map<string, string[]>;

const canonicalName = (name: string) => name.toLowerCase().replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase());

function parseHeaders(raw: unknown): Headers {
  let value: unknown = raw;
  if (typeof raw === 'string') {
    let text = raw;
    if (!raw.trim().startsWith('{')) text = decodeBase64(raw, 'iam_request_headers');
    try {
      value = JSON.parse(text);
    } catch {
      throw badRequest('error parsing iam_request_headers: not a JSON object');
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw badRequest('error parsing iam_request_headers: not a JSON object');
  const headers: Headers = new Map();
  for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
    const values = typeof v === 'string' ? [v] : Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
    if (values === undefined) throw badRequest(`error parsing iam_request_headers: header ${JSON.stringify(name)} is neither a string nor a list of strings`);
    const key = canonicalName(name);
    headers.set(key, [...(headers.get(key) ?? []), ...values]);
  }
  return headers;
}

/** Vault's check of the server-ID header: present, equal to the configured value, and among the signed headers. */
function checkServerId(headers: Headers, expected: string): void {
  const fail = (why: string): never => {
    throw badRequest(`error validating ${SERVER_ID_HEADER} header: ${why}`);
  };
  const values = headers.get(canonicalName(SERVER_ID_HEADER));
  if (values === undefined || values.length === 0) fail(`missing header "${SERVER_ID_HEADER}"`);
  const given = (values as string[]).join(',');
  if (given !== expected) fail(`expected "${expected}" but got "${given}"`);
  const authorization = headers.get('Authorization')?.[0];
  if (authorization === undefined) fail('missing Authorization header');
  const signed = /SignedHeaders=([^,\s]+)/.exec(authorization as string)?.[1]?.split(';') ?? [];
  if (!signed.includes(SERVER_ID_HEADER.toLowerCase())) fail('vault header wasn\'t signed');
}

interface CallerIdentity {
  arn: string;
  userId: string;
  account: string;
}

const xmlField = (xml: string, name: string): string | undefined => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];

/** The GetCallerIdentity answer as Vault reads it (XML). */
function parseIdentity(xml: string): CallerIdentity {
  const arn = xmlField(xml, 'Arn');
  const account = xmlField(xml, 'Account');
  if (!arn || !account || !xml.includes('<GetCallerIdentityResult>')) throw badRequest('error parsing STS response: no GetCallerIdentityResult');
  return { arn, account, userId: xmlField(xml, 'UserId') ?? '' };
}

/** The ARN Vault binds roles to: `arn:<p>:iam::<acct>:role/<name>` for an assumed-role session, paths dropped. */
export function canonicalArn(arn: string): { canonical: string; friendlyName: string; type: 'role' | 'user' } {
  const m = /^arn:(aws[a-z-]*):(sts|iam)::(\d{12}):([^/]+)\/(.+)$/.exec(arn);
  if (!m) throw badRequest(`unable to parse entity's ARN "${arn}"`);
  const [, partition, service, account, kind, rest] = m as unknown as [string, string, string, string, string, string];
  const parts = rest.split('/');
  if (service === 'sts' && kind === 'assumed-role' && parts.length >= 2) {
    const name = parts[0] as string;
    return { canonical: `arn:${partition}:iam::${account}:role/${name}`, friendlyName: name, type: 'role' };
  }
  if (service === 'iam' && (kind === 'user' || kind === 'role')) {
    const name = parts.at(-1) as string;
    return { canonical: `arn:${partition}:iam::${account}:${kind}/${name}`, friendlyName: name, type: kind };
  }
  throw badRequest(`unrecognized principal type: "${kind}" in ARN "${arn}"`);
}

function boundMatches(bound: string, canonical: string): boolean {
  return bound.endsWith('*') ? canonical.startsWith(bound.slice(0, -1)) : bound === canonical;
}

/** Sends the client's signed request to the STS endpoint with the client's Host, path and body. */
function replay(endpoint: URL, target: URL, headers: Headers, body: string): Promise<{ status: number; text: string }> {
  const outgoing: Record<string, string> = {};
  for (const [name, values] of headers) if (name !== 'Host' && name !== 'Content-Length') outgoing[name] = values.join(',');
  outgoing.Host = target.host;
  outgoing['Content-Length'] = String(Buffer.byteLength(body));
  const send = endpoint.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      { protocol: endpoint.protocol, hostname: endpoint.hostname, port: endpoint.port || undefined, method: 'POST', path: `${target.pathname}${target.search}`, headers: outgoing, timeout: 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

export class AwsAuthBackend implements Backend {
  readonly type = 'aws';
  readonly routes: readonly Route[];
  private readonly roles = new Map<string, StoredRole>();

  /** `name` is the mount path below auth/, e.g. "aws". */
  constructor(
    readonly name: string,
    private config: AwsAuthMountConfig,
    private readonly tokens: TokenStore,
  ) {
    this.routes = [{ pattern: 'login', unauthenticated: true, handlers: { update: (req) => this.login(req) } }];
  }

  configure(config: AwsAuthMountConfig): void {
    this.config = { ...this.config, ...config };
  }

  setRole(name: string, role: AwsAuthRole): void {
    if (typeof name !== 'string' || name.trim() === '') throw new Error('role name must not be empty');
    const key = name.toLowerCase();
    this.roles.set(key, validateRole(key, role));
  }

  private async login(req: VaultRequest): Promise<VaultResponse> {
    const method = stringField(req.data, 'iam_http_request_method');
    if (method === '') throw badRequest('the sandbox emulates only the iam login: missing iam_http_request_method');
    if (method !== 'POST') throw badRequest(`invalid iam_http_request_method; only POST is supported`);
    const rawUrl = stringField(req.data, 'iam_request_url');
    let target: URL;
    try {
      target = new URL(rawUrl === '' ? `${DEFAULT_STS}/` : decodeBase64(rawUrl, 'iam_request_url'));
    } catch (err) {
      if (err instanceof VaultError) throw err;
      throw badRequest('error parsing iam_request_url');
    }
    if (target.search !== '' || target.pathname !== '/') throw badRequest('invalid request url: the GetCallerIdentity request is POSTed to "/" without a query');
    const body = decodeBase64(stringField(req.data, 'iam_request_body'), 'iam_request_body');
    const params = new URLSearchParams(body);
    if (params.get('Action') !== 'GetCallerIdentity' || [...params.keys()].some((k) => k !== 'Action' && k !== 'Version')) {
      throw badRequest('invalid request body: only Action=GetCallerIdentity (and Version) is allowed');
    }
    const headers = parseHeaders(req.data.iam_request_headers);
    if (this.config.iam_server_id_header_value) checkServerId(headers, this.config.iam_server_id_header_value);
    const allowed = new Set([...ALLOWED_AMZ, ...(this.config.allowed_sts_header_values ?? []).map((h) => h.toLowerCase())]);
    for (const name of headers.keys()) {
      if (name.toLowerCase().startsWith('x-amz-') && !allowed.has(name.toLowerCase())) throw badRequest(`invalid request header: ${name}`);
    }

    let answer: { status: number; text: string };
    try {
      answer = await replay(new URL(this.config.sts_endpoint ?? DEFAULT_STS), target, headers, body);
    } catch (err) {
      throw badRequest(`error making upstream request: ${(err as Error).message}`);
    }
    if (answer.status !== 200) throw badRequest(`error making upstream request: received error code ${answer.status} from STS: ${answer.text}`);
    const identity = parseIdentity(answer.text);
    const principal = canonicalArn(identity.arn);

    const roleName = (stringField(req.data, 'role') || principal.friendlyName).toLowerCase();
    const role = this.roles.get(roleName);
    if (!role) throw badRequest(`entry for role ${roleName} not found`);
    if (!role.bound.some((b) => boundMatches(b, principal.canonical))) {
      throw badRequest(`IAM Principal "${identity.arn}" does not belong to the role "${roleName}"`);
    }

    const entry = this.tokens.create({
      namespace: req.namespace,
      type: role.type,
      policies: role.policies,
      meta: {
        account_id: identity.account,
        auth_type: 'iam',
        canonical_arn: principal.canonical,
        client_arn: identity.arn,
        client_user_id: identity.userId,
        inferred_aws_region: '',
        inferred_entity_id: '',
        inferred_entity_type: '',
        role_id: role.id,
      },
      displayName: `${this.name.replace(/\//g, '-')}-${principal.canonical}`,
      path: `auth/${this.name}/login`,
      entityId: stableUuid(`entity\u0000${req.namespace}\u0000${this.name}\u0000${principal.canonical}`),
      ttl: role.ttl,
      maxTtl: role.maxTtl,
      renewLimits: () => {
        const current = this.roles.get(roleName);
        if (!current) throw new VaultError(500, `role ${roleName} does not exist during renewal`);
        return { ttl: current.ttl, maxTtl: current.maxTtl };
      },
    });
    return envelope({ auth: TokenStore.authBlock(entry, entry.creationTtl) });
  }
}
