/**
 * fast-check properties over everything tng reads from outside: ID tokens and token-endpoint answers,
 * Vault answers, STS answers, config.toml, audit lines and exports — plus the FIDO2 ones (CTAPHID frames,
 * CTAP2 CBOR answers) from ../fido2/properties.ts. Each feeds malformed input to tng's own code and insists
 * the outcome is either a usable value or a TngError whose exit code is in the contract (not 1, which means
 * a bug) — never another exception, never a hang (async cases race a time limit; scripts/fuzz.ts also
 * watches every property from outside, which catches synchronous hangs).
 *
 * `fuzz.test.ts` runs each a few hundred times in CI; `npm run fuzz` runs ≥ 100,000 cases in all.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { exportJWK, SignJWT, type JWK } from 'jose';
import { stringify } from 'smol-toml';
import { appendEntry, parseTrail, readTrail, signedAnchor } from '../../../src/audit/chain.ts';
import { buildExport, formatExport, verifyData } from '../../../src/audit/export.ts';
import { verificationError, verifyTrail } from '../../../src/audit/verify.ts';
import { callerIdentity } from '../../../src/aws/sts.ts';
import { issueAwsCredentials } from '../../../src/aws/vault-aws.ts';
import { loadProfile } from '../../../src/config/file.ts';
import { TngError } from '../../../src/errors.ts';
import type { Fetch } from '../../../src/net/http.ts';
import { discover, refreshLogin } from '../../../src/oidc/client.ts';
import { VaultClient } from '../../../src/vault/client.ts';
import { newKeyPair } from '../../sandbox/signing-keys.ts';
import { sampleTrail } from '../audit/helpers.ts';
import { fido2Properties } from '../fido2/properties.ts';

export interface FuzzProperty {
  name: string;
  property: fc.IRawProperty<unknown, boolean>;
  /** Share of the long run's cases, relative to the other properties. */
  weight: number;
}

/** Exit codes a malformed input may end in: every contract code except 0 and 1 (1 is "a bug in tng"). */
export const CONTRACT_FAILURE_CODES = new Set([2, 3, 4, 5, 6, 7, 8, 130]);

/** How every outcome ended, per property: shows the fuzzing reaches both values and each kind of refusal. */
export const outcomes = new Map<string, Map<string, number>>();

function count(property: string, outcome: string): void {
  let map = outcomes.get(property);
  if (!map) outcomes.set(property, (map = new Map()));
  map.set(outcome, (map.get(outcome) ?? 0) + 1);
}

/** A thrown value is acceptable only as a TngError with a contract exit code; returns its stable code. */
function acceptError(error: unknown): string {
  if (error instanceof TngError && CONTRACT_FAILURE_CODES.has(error.exitCode)) return error.code;
  if (error instanceof TngError) throw new Error(`TngError ${error.code} with exit ${error.exitCode}: ${error.message}`, { cause: error });
  throw error;
}

/** Runs one async case: a value, or an accepted TngError; anything else, or no outcome within `limitMs`, fails. */
async function settle(property: string, fn: () => Promise<unknown>, limitMs: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no outcome within ${limitMs} ms (a hang)`)), limitMs);
  });
  try {
    const value = await Promise.race([fn(), hang]);
    count(property, 'value');
    return value;
  } catch (error) {
    count(property, acceptError(error));
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

// ------------------------------------------------------------------------------------------- arbitraries

/** Character-level edits of a text: flips, overwrites, cuts, insertions, deletions. */
function mutatedText(base: string, alphabet = fc.string({ unit: 'binary', maxLength: 6 })): fc.Arbitrary<string> {
  const edit = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), at: fc.nat(), text: alphabet }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: alphabet }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 12 }) }),
  );
  return fc.array(edit, { minLength: 1, maxLength: 4 }).map((edits) => {
    let text = base;
    for (const e of edits) {
      const at = text.length ? e.at % (text.length + 1) : 0;
      if (e.kind === 'set') text = text.slice(0, at) + e.text + text.slice(at + e.text.length);
      else if (e.kind === 'cut') text = text.slice(0, at);
      else if (e.kind === 'insert') text = text.slice(0, at) + e.text + text.slice(at);
      else text = text.slice(0, at) + text.slice(at + e.count);
    }
    return text;
  });
}

/** Values of the wrong type (or the right type with hostile content) for any JSON field. */
const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom('', ' ', '\u0000', 'null', '-1', '1e999', 'NaN', '../../etc/passwd', '\u202e', 'a'.repeat(5000), -1, 0, 1e308, -1e308, 2 ** 53 + 1, true, [], {}, null),
);

/** Structure-aware edits of a JSON value: replace, delete or add a field anywhere in it. */
function mutatedJson(base: unknown): fc.Arbitrary<unknown> {
  const edit = fc.record({ path: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), kind: fc.constantFrom('replace', 'delete', 'add'), value: oddValue, key: fc.string({ maxLength: 8 }) });
  return fc.array(edit, { minLength: 1, maxLength: 3 }).map((edits) => {
    const root = structuredClone(base) as unknown;
    for (const e of edits) {
      let parent: unknown = undefined;
      let key: string | number | undefined;
      let node: unknown = root;
      for (const step of e.path) {
        if (node === null || typeof node !== 'object') break;
        const keys = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node);
        if (keys.length === 0) break;
        parent = node;
        key = keys[step % keys.length] as string | number;
        node = (node as Record<string | number, unknown>)[key];
      }
      if (parent === undefined || key === undefined) continue;
      const container = parent as Record<string | number, unknown>;
      if (e.kind === 'replace') container[key] = e.value;
      else if (e.kind === 'delete') delete container[key];
      else if (!Array.isArray(container)) container[e.key] = e.value;
    }
    return root;
  });
}

/** A body as a server might send it: JSON (well-formed or edited), or text that is not JSON at all. */
function body(valid: unknown): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant(JSON.stringify(valid)) },
    { weight: 6, arbitrary: mutatedJson(valid).map((v) => JSON.stringify(v) ?? '') },
    { weight: 2, arbitrary: mutatedText(JSON.stringify(valid)) },
    { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v) ?? '') },
    { weight: 1, arbitrary: fc.constantFrom('', '<html>proxy login</html>', '{', 'null', '[]', '"x"', '0') },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
}

const status = fc.oneof(
  { weight: 8, arbitrary: fc.constant(200) },
  { weight: 4, arbitrary: fc.constantFrom(204, 400, 401, 403, 404, 405, 412, 429, 500, 502, 503, 504) },
  { weight: 1, arbitrary: fc.integer({ min: 200, max: 599 }) },
);

interface Answer {
  status: number;
  body: string | undefined;
}

function answer(valid: unknown): fc.Arbitrary<Answer> {
  return fc.record({ status, body: body(valid) });
}

function respond(a: Answer, contentType = 'application/json'): Response {
  const nullBody = a.status === 204 || a.status === 205 || a.status === 304;
  return new Response(nullBody ? null : (a.body ?? null), { status: a.status, headers: { 'content-type': contentType } });
}

// ------------------------------------------------------------------------------------------- ID tokens

const ISSUER = 'http://127.0.0.1:9/dex';
const CLIENT_ID = 'tng';

interface TokenCase {
  claims: Record<string, unknown>;
  header: Record<string, unknown>;
  signer: 'key' | 'other-key' | 'none';
  edits: string | undefined;
  response: 'tokens' | 'raw';
  raw: Answer;
  drop: string[];
}

const claimsArb = fc.record({
  iss: fc.oneof({ weight: 6, arbitrary: fc.constant(ISSUER) }, { weight: 1, arbitrary: oddValue }, { weight: 1, arbitrary: fc.constant('http://127.0.0.1:9/other') }),
  sub: fc.oneof({ weight: 6, arbitrary: fc.constant('CiQ1YjhjMWYyZS00ZDNhEgVsb2NhbA') }, { weight: 1, arbitrary: oddValue }),
  aud: fc.oneof({ weight: 6, arbitrary: fc.constant(CLIENT_ID) }, { weight: 1, arbitrary: fc.constant([CLIENT_ID, 'vault']) }, { weight: 1, arbitrary: oddValue }),
  azp: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: oddValue }),
  exp: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 60, max: 86_400 }).map((s) => Math.floor(Date.now() / 1000) + s) }, { weight: 1, arbitrary: oddValue }, { weight: 1, arbitrary: fc.constant(1) }),
  iat: fc.oneof({ weight: 6, arbitrary: fc.constant(Math.floor(Date.now() / 1000)) }, { weight: 1, arbitrary: oddValue }),
  email: fc.oneof({ weight: 4, arbitrary: fc.constant('alice@example.com') }, { weight: 1, arbitrary: oddValue }),
  groups: fc.oneof({ weight: 4, arbitrary: fc.constant(['engineers', 'platform']) }, { weight: 1, arbitrary: oddValue }, { weight: 1, arbitrary: fc.array(oddValue, { maxLength: 4 }) }),
  nonce: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: oddValue }),
});

const tokenCase: fc.Arbitrary<TokenCase> = fc.record({
  claims: claimsArb,
  header: fc.record({
    alg: fc.oneof({ weight: 8, arbitrary: fc.constant('RS256') }, { weight: 1, arbitrary: fc.constantFrom('none', 'HS256', 'ES256', 'RS512', '') }),
    kid: fc.oneof({ weight: 8, arbitrary: fc.constant('k1') }, { weight: 1, arbitrary: fc.constantFrom('unknown', '') }),
  }),
  signer: fc.oneof({ weight: 8, arbitrary: fc.constant('key' as const) }, { weight: 1, arbitrary: fc.constantFrom('other-key' as const, 'none' as const) }),
  edits: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 4 }) }),
  response: fc.oneof({ weight: 5, arbitrary: fc.constant('tokens' as const) }, { weight: 1, arbitrary: fc.constant('raw' as const) }),
  raw: answer({ access_token: 'at', token_type: 'Bearer', id_token: 'x.y.z', refresh_token: 'rt', expires_in: 3600 }),
  drop: fc.subarray(['access_token', 'token_type', 'id_token', 'refresh_token', 'expires_in']),
});

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

async function idTokenProperty(): Promise<FuzzProperty> {
  const { privateKey, publicKey } = newKeyPair('RS256');
  const other = newKeyPair('RS256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const discovery = {
    issuer: ISSUER,
    authorization_endpoint: `${ISSUER}/auth`,
    token_endpoint: `${ISSUER}/token`,
    jwks_uri: `${ISSUER}/keys`,
    response_types_supported: ['code'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
  };
  let tokenAnswer: Response = new Response('{}');
  const fetch: Fetch = async (input) => {
    const path = new URL(String(input)).pathname;
    if (path.endsWith('/.well-known/openid-configuration')) return Response.json(discovery);
    if (path.endsWith('/keys')) return Response.json({ keys: [jwk] });
    return tokenAnswer.clone();
  };
  const config = await discover({ issuer: ISSUER, clientId: CLIENT_ID, fetch });
  const name = 'ID tokens and token-endpoint answers: a refresh login ends in checked claims or a TngError';

  async function sign(c: TokenCase): Promise<string> {
    const claims = Object.fromEntries(Object.entries(c.claims).filter(([, v]) => v !== undefined));
    if (c.signer === 'none' || c.header.alg !== 'RS256') {
      return `${b64(c.header)}.${b64(claims)}.${Buffer.from('not a signature').toString('base64url')}`;
    }
    const key = c.signer === 'key' ? privateKey : other.privateKey;
    return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: String(c.header.kid) }).sign(key);
  }

  return {
    name,
    weight: 12,
    property: fc.asyncProperty(tokenCase, async (c) => {
      let idToken = await sign(c);
      if (c.edits !== undefined) {
        const at = idToken.length > 0 ? idToken.charCodeAt(c.edits.length % idToken.length) % idToken.length : 0;
        idToken = idToken.slice(0, at) + c.edits + idToken.slice(at + c.edits.length);
      }
      if (c.response === 'raw') {
        tokenAnswer = respond(c.raw);
      } else {
        const tokens: Record<string, unknown> = { access_token: 'at', token_type: 'Bearer', id_token: idToken, refresh_token: 'rt-next', expires_in: 3600 };
        for (const field of c.drop) delete tokens[field];
        tokenAnswer = Response.json(tokens);
      }
      const result = (await settle(name, () => refreshLogin(config, 'rt'), 5000)) as Awaited<ReturnType<typeof refreshLogin>> | undefined;
      if (result !== undefined) {
        const { claims } = result;
        if (typeof result.idToken !== 'string' || typeof claims.subject !== 'string' || typeof claims.issuer !== 'string') throw new Error('claims of the wrong type passed');
        if (!Number.isFinite(claims.expiresAt)) throw new Error('an ID token without a usable exp passed');
        if (!(claims.email === null || typeof claims.email === 'string') || !claims.groups.every((g) => typeof g === 'string')) throw new Error('email or groups of the wrong type passed');
        if (claims.issuer !== ISSUER) throw new Error('a token from another issuer passed');
      }
      return true;
    }),
  };
}

// ------------------------------------------------------------------------------------------- Vault

const VAULT_AUTH = { auth: { client_token: 'hvs.token', accessor: 'acc', policies: ['default', 'engineer'], token_policies: ['default'], metadata: { role: 'engineer' }, lease_duration: 900, renewable: true, entity_id: 'e-1', token_type: 'service' } };
const VAULT_LOOKUP = { data: { accessor: 'acc', display_name: 'jwt-alice', entity_id: 'e-1', expire_time: '2030-01-01T00:00:00Z', policies: ['default'], renewable: true, ttl: 600, meta: { role: 'engineer' }, path: 'auth/jwt/login' } };
const VAULT_AWS = { lease_id: 'aws/sts/deploy/x', lease_duration: 900, renewable: false, data: { access_key: 'ASIAEXAMPLE', secret_key: 'secret', session_token: 'session', arn: 'arn:aws:sts::1:assumed-role/deploy/x', ttl: 899 } };
const VAULT_AUTH_URL = { data: { auth_url: 'http://127.0.0.1:9/dex/auth?state=s' } };
const VAULT_ERRORS = { errors: ['permission denied'] };
const VAULT_HEALTH = { initialized: true, sealed: false, standby: false, version: '1.18.3', server_time_utc: 1_700_000_000 };

const vaultCall = fc.constantFrom('login', 'lookup', 'renew', 'revoke', 'aws-sts', 'aws-creds', 'auth-url', 'callback', 'health');

function vaultProperty(): FuzzProperty {
  const name = 'Vault answers: every client call ends in a checked value or a TngError';
  const valid = fc.constantFrom(VAULT_AUTH, VAULT_LOOKUP, VAULT_AWS, VAULT_AUTH_URL, VAULT_ERRORS, VAULT_HEALTH).chain((v) => answer(v));
  return {
    name,
    weight: 14,
    property: fc.asyncProperty(vaultCall, valid, valid, async (call, first, second) => {
      const answers = [first, second];
      const fetch: Fetch = async () => respond(answers.shift() ?? first);
      const vault = new VaultClient({ addr: 'http://127.0.0.1:8200', fetch, retryDelayMs: () => 0 });
      const run = async (): Promise<unknown> => {
        switch (call) {
          case 'login': {
            const auth = await vault.jwtLogin('jwt', 'engineer', 'a.b.c');
            if (typeof auth.client_token !== 'string' || !auth.client_token || !Number.isFinite(auth.lease_duration) || typeof auth.renewable !== 'boolean') throw new Error('an unusable login passed');
            return auth;
          }
          case 'renew':
            return vault.renewSelf('t');
          case 'lookup': {
            const lookup = await vault.lookupSelf('t');
            const expires = lookup.expire_time ? new Date(lookup.expire_time).toISOString() : new Date(Date.now() + lookup.ttl * 1000).toISOString();
            return { lookup, expires };
          }
          case 'revoke':
            return vault.revokeSelf('t');
          case 'aws-sts':
          case 'aws-creds': {
            const type = call === 'aws-sts' ? 'sts' : 'creds';
            const credentials = await issueAwsCredentials(vault, 't', { mount: 'aws', role: 'deploy', type, ttlSeconds: 900, sessionName: 'tng-x' }, 1_700_000_000);
            if (typeof credentials.accessKeyId !== 'string' || typeof credentials.secretAccessKey !== 'string' || !(credentials.expiresAt > 1_700_000_000)) throw new Error('unusable AWS credentials passed');
            return credentials;
          }
          case 'auth-url':
            return vault.oidcAuthUrl('oidc', 'engineer', 'http://localhost:8250/oidc/callback', 'n');
          case 'callback':
            return vault.oidcCallback('oidc', { state: 's', code: 'c', clientNonce: 'n' });
          case 'health':
            return vault.health();
        }
      };
      await settle(name, run, 5000);
      return true;
    }),
  };
}

// ------------------------------------------------------------------------------------------- STS

const STS_OK = (arn: string, userId: string, account: string) =>
  `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>${arn}</Arn><UserId>${userId}</UserId><Account>${account}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId></ResponseMetadata></GetCallerIdentityResponse>`;
const STS_ERROR = (code: string, message: string) =>
  `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId></ErrorResponse>`;

const xmlText = fc.oneof(fc.constantFrom('arn:aws:sts::123456789012:assumed-role/deploy/tng-x', 'AROAEXAMPLE:tng-x', '123456789012', ''), fc.string({ maxLength: 20 }), fc.constantFrom('&amp;', '&bogus;', '<![CDATA[x]]>', ']]>', '<'));

const stsAnswer = fc.record({
  status: fc.oneof({ weight: 10, arbitrary: fc.constant(200) }, { weight: 3, arbitrary: fc.constantFrom(400, 403) }, { weight: 1, arbitrary: fc.constantFrom(301, 404, 429, 500, 503) }),
  body: fc.oneof(
    { weight: 4, arbitrary: fc.tuple(xmlText, xmlText, xmlText).map(([a, u, c]) => STS_OK(a, u, c)) },
    { weight: 4, arbitrary: fc.tuple(xmlText, xmlText, xmlText).chain(([a, u, c]) => mutatedText(STS_OK(a, u, c))) },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom('ExpiredToken', 'InvalidClientTokenId', 'SignatureDoesNotMatch', 'Throttling', ''), xmlText).map(([c, m]) => STS_ERROR(c, m)) },
    { weight: 1, arbitrary: fc.constantFrom('', '{}', '<html>', '<?xml version="1.0"?>', 'null') },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  ),
  contentType: fc.constantFrom('text/xml', 'application/xml', 'application/json', 'text/html'),
});

async function stsProperty(): Promise<FuzzProperty & { close(): Promise<void> }> {
  const name = 'STS answers: GetCallerIdentity ends in an identity or a TngError';
  let current = { status: 200, body: STS_OK('arn', 'id', '1'), contentType: 'text/xml' };
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(current.status, { 'content-type': current.contentType, ...(current.status === 301 ? { location: 'http://127.0.0.1:9/' } : {}) });
      res.end(current.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const credentials = { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret', sessionToken: 'session', issuedAt: 0, expiresAt: 2_000_000_000, role: 'deploy' };
  return {
    name,
    weight: 2,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    property: fc.asyncProperty(stsAnswer, async (a) => {
      current = a;
      const identity = (await settle(name, () => callerIdentity(credentials, { region: 'eu-west-1', env: { AWS_ENDPOINT_URL_STS: url } }), 10_000)) as
        | { arn: unknown; account: unknown; userId: unknown }
        | undefined;
      if (identity !== undefined && (typeof identity.arn !== 'string' || typeof identity.account !== 'string' || typeof identity.userId !== 'string')) throw new Error('an identity of the wrong type passed');
      return true;
    }),
  };
}

// ------------------------------------------------------------------------------------------- config.toml

const VALID_PROFILE = {
  issuer: 'https://dex.example.com/dex',
  client_id: 'tng',
  scopes: ['openid', 'email', 'groups', 'offline_access'],
  redirect_port: 8250,
  vault_addr: 'https://vault.example.com:8200/',
  vault_namespace: 'team/',
  vault_role: 'engineer',
  vault_auth: 'jwt',
  aws_role: 'deploy',
  aws_ttl: '15m',
  touch: 'login',
  fido2: [{ credential_id: 'Y3JlZA', public_key: 'cHVi', aaguid: 'cb69481e-8ff7-4039-93ec-0a2729a154a8', rp_id: 'tng:dex.example.com', salt: 'c2FsdHNhbHRzYWx0c2FsdHNhbHRzYWx0c2FsdHNhbHQ', uv: 'discouraged' }],
};
const VALID_CONFIG = { default_profile: 'work', profiles: { work: VALID_PROFILE, home: { ...VALID_PROFILE, issuer: 'http://127.0.0.1:5556/dex', vault_addr: 'http://localhost:8200' } } };

/** Config texts: well-formed TOML with edited values, TOML with edited characters, or any text at all. */
const configText: fc.Arbitrary<string> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(tomlOf(VALID_CONFIG)) },
  { weight: 5, arbitrary: mutatedJson(VALID_CONFIG).map((c) => tomlOf(c)) },
  { weight: 4, arbitrary: mutatedText(tomlOf(VALID_CONFIG), fc.constantFrom('=', '"', "'", '[', ']', '[[', '\n', '#', '.', ',', '{', '}', '\\u', '\\', '"""', ' ', '0x', 'inf', 'nan', '1979-05-27T07:32:00Z', '\u0000')) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 300 }) },
);

function tomlOf(value: unknown): string {
  try {
    return stringify(value as Record<string, unknown>);
  } catch {
    return JSON.stringify(value) ?? '';
  }
}

async function configProperty(): Promise<FuzzProperty & { close(): Promise<void> }> {
  const name = 'config.toml: a profile loads checked, or the answer is a configuration error (exit 2)';
  const dir = await mkdtemp(join(tmpdir(), 'tng-fuzz-config-'));
  const path = join(dir, 'config.toml');
  return {
    name,
    weight: 14,
    close: () => rm(dir, { recursive: true, force: true }),
    property: fc.asyncProperty(configText, fc.constantFrom(undefined, 'work', 'home', 'constructor', '__proto__', 'toString'), async (text, flag) => {
      await writeFile(path, text);
      let profile;
      try {
        profile = await loadProfile(path, flag, {});
        count(name, 'value');
      } catch (error) {
        count(name, acceptError(error));
        if (error instanceof TngError && error.exitCode !== 2) throw new Error(`a config problem was exit ${error.exitCode}: ${error.message}`);
        return true;
      }
      for (const url of [profile.issuer, profile.vaultAddr]) {
        const parsed = new URL(url);
        // The contract's loopback hosts: 127.0.0.0/8 (as the URL parser reads the host: `127.5556` is 127.0.21.180), [::1], localhost.
        const loopback = /^127\.\d+\.\d+\.\d+$/.test(parsed.hostname) || ['localhost', '[::1]'].includes(parsed.hostname);
        if (parsed.protocol !== 'https:' && !loopback) throw new Error(`an insecure URL passed: ${url}`);
      }
      if (profile.redirectPort !== undefined && !(Number.isInteger(profile.redirectPort) && profile.redirectPort >= 1 && profile.redirectPort <= 65535)) throw new Error('a bad port passed');
      if (!(profile.awsTtlSeconds > 0) || !profile.scopes.every((s) => typeof s === 'string')) throw new Error('a bad ttl or scope passed');
      if (!profile.fido2.every((e) => ['required', 'discouraged'].includes(e.uv) && typeof e.credential_id === 'string')) throw new Error('a bad fido2 entry passed');
      return true;
    }),
  };
}

// ------------------------------------------------------------------------------------------- audit lines

async function auditProperties(): Promise<Array<FuzzProperty & { close?(): Promise<void> }>> {
  const dir = await mkdtemp(join(tmpdir(), 'tng-fuzz-audit-'));
  await sampleTrail(dir); // an enrolled key, signed logins, a session, an exec
  const trailText = await readFile(join(dir, 'audit.jsonl'), 'utf8');
  const exportText = formatExport(buildExport(parseTrail(trailText).entries));
  const lines = trailText.split('\n').filter(Boolean);
  const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);

  /** Whole-file edits, line shuffles, and structure-aware edits of one entry. */
  const damaged = (base: string, records: Array<Record<string, unknown>>): fc.Arbitrary<string> =>
    fc.oneof(
      { weight: 3, arbitrary: mutatedText(base) },
      {
        weight: 3,
        arbitrary: fc.tuple(fc.nat(), mutatedJson(records)).map(([, changed]) => (changed as unknown[]).map((r) => JSON.stringify(r)).join('\n') + '\n'),
      },
      {
        weight: 2,
        arbitrary: fc.array(fc.tuple(fc.constantFrom('drop', 'dup', 'swap', 'junk'), fc.nat(), fc.string({ maxLength: 30 })), { minLength: 1, maxLength: 3 }).map((ops) => {
          const out = base.split('\n');
          for (const [op, at, junk] of ops) {
            const i = at % Math.max(out.length, 1);
            if (op === 'drop') out.splice(i, 1);
            else if (op === 'dup') out.splice(i, 0, out[i] ?? '');
            else if (op === 'swap' && out.length > 1) [out[i], out[(i + 1) % out.length]] = [out[(i + 1) % out.length] as string, out[i] as string];
            else out.splice(i, 0, junk);
          }
          return out.join('\n');
        }),
      },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
    );

  const exportRecords = exportText.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  const verifyName = 'audit lines and exports: verification ends in a report, and a bad entry in exit 8';
  const appendName = 'audit lines: appending after a damaged trail repairs or refuses, never crashes';
  const appendDir = await mkdtemp(join(tmpdir(), 'tng-fuzz-append-'));
  return [
    {
      name: verifyName,
      weight: 14,
      close: async () => {
        await rm(dir, { recursive: true, force: true });
        await rm(appendDir, { recursive: true, force: true });
      },
      property: fc.property(fc.oneof(damaged(trailText, entries), damaged(exportText, exportRecords)), (text) => {
        try {
          const { entries: read, report } = verifyData(Buffer.from(text, 'latin1'));
          if (!report.ok) {
            if (!report.firstBad) throw new Error('a failed verification names no entry');
            const error = verificationError(report.firstBad, 'The trail');
            if (!(error instanceof TngError) || error.exitCode !== 8) throw new Error('a failed verification is not exit 8');
          }
          signedAnchor(read, String(read.at(-1)?.id));
          count(verifyName, report.ok ? 'verified' : 'refused');
        } catch (error) {
          count(verifyName, acceptError(error));
        }
        return true;
      }),
    },
    {
      name: appendName,
      weight: 3,
      property: fc.asyncProperty(damaged(trailText, entries), async (text) => {
        await writeFile(join(appendDir, 'audit.jsonl'), Buffer.from(text, 'latin1'));
        const ok = await settle(
          appendName,
          async () => {
            await appendEntry(appendDir, { event: 'login', profile: 'work', credential_id: null, nonce: 'n' });
            return verifyTrail(await readTrail(appendDir)).ok;
          },
          5000,
        );
        // A torn tail is repaired by the append; damage further up stays visible to verification.
        if (ok !== undefined) count(appendName, ok ? 'verified after the append' : 'still refused after the append');
        return true;
      }),
    },
  ];
}

// ------------------------------------------------------------------------------------------- all of them

export interface FuzzSuite {
  properties: FuzzProperty[];
  close(): Promise<void>;
}

/** Every property, the FIDO2 ones included; `close()` stops the local servers and removes temp files. */
export async function fuzzSuite(): Promise<FuzzSuite> {
  const sts = await stsProperty();
  const config = await configProperty();
  const audit = await auditProperties();
  const fido2 = fido2Properties().map((p) => ({ ...p, weight: 4 }));
  const properties: FuzzProperty[] = [...fido2, await idTokenProperty(), vaultProperty(), sts, config, ...audit];
  return {
    properties,
    close: async () => {
      await Promise.allSettled([sts.close(), config.close(), ...audit.map((p) => p.close?.())]);
    },
  };
}
