// Control endpoints under /__sandbox/ on the sandbox's own port, for tests and demos that drive the
// sandbox from another process. JSON in, JSON out. They are not Vault API: they are neither logged in
// requests() nor subject to faults, sealing or standby.
//
//   POST /__sandbox/seal                      → {"sealed":true}
//   POST /__sandbox/unseal                    → {"sealed":false}
//   POST /__sandbox/standby {"standby":bool}  → {"standby":bool}
//   POST /__sandbox/fault {rule}              → {"faults":"added"}
//   POST /__sandbox/faults/clear              → {"faults":"cleared"}
//   GET  /__sandbox/requests                  → [{"method","path","status","namespace"?}, ...]
//   POST /__sandbox/jwt/role {"name","role","mount"?} → {"role":name,"mount":mount}
//   POST /__sandbox/oidc/role {"name","role","mount"?} → {"role":name,"mount":mount}   (mount default "oidc")
//   POST /__sandbox/oidc/expire-states {"mount"?}  → {"expired":n}   (pending auth_url states aged past 10 min)
//   POST /__sandbox/clock {"skew_seconds":n}  → {"skew_seconds":n}   (Date headers and server_time_utc shift by n s)
//   POST /__sandbox/revoke-accessor {"accessor"} → {"revoked":true}   (404 when unknown)
//   GET  /__sandbox/tokens                    → [{"accessor","policies","revoked","expiresAt","displayName"}, ...]
//   POST /__sandbox/aws/role {"name","role","mount"?} → {"role":name,"mount":mount}   (mount default "aws")
//   GET  /__sandbox/aws/issued                → [{"accessKeyId","type","role","mount","expiresAt","sessionName"?,"arn","account"}, ...]
//   POST /__sandbox/aws/expire {"access_key_id"?} → {"expired":n}   (one credential, or all; 404 when unknown)
//   POST /__sandbox/aws-auth/config {"config","mount"?} → {"mount":mount}   (AWS auth method; mount default "aws")
//   POST /__sandbox/aws-auth/role {"name","role","mount"?} → {"role":name,"mount":mount}
//   POST /__sandbox/policy {"name","rules"}   → {"policy":name}   (rules: {"secret/data/app/*":["read"]})
//   POST /__sandbox/kv {"path","data","mount"?} → {"version":n}   (KV v2; mount default "secret")
//
// Errors: {"error":"message"} with 400 (bad input), 404 (unknown endpoint) or 405 (wrong method).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FaultRule, SandboxCore } from './core.ts';
import type { JwtRole } from './backends/jwt.ts';
import type { OidcRole } from './backends/oidc.ts';
import type { AwsRole } from './backends/aws.ts';
import type { AwsAuthMountConfig, AwsAuthRole } from './backends/aws-auth.ts';
import type { PolicyRules } from './acl.ts';
import { readBody, sendJson } from './wire.ts';

type ControlHandler = (core: SandboxCore, body: Record<string, unknown>) => [number, unknown];

const ENDPOINTS: Record<string, { method: 'GET' | 'POST'; handle: ControlHandler }> = {
  seal: {
    method: 'POST',
    handle: (core) => {
      core.node.sealed = true;
      return [200, { sealed: true }];
    },
  },
  unseal: {
    method: 'POST',
    handle: (core) => {
      core.node.sealed = false;
      return [200, { sealed: false }];
    },
  },
  standby: {
    method: 'POST',
    handle: (core, body) => {
      if (typeof body.standby !== 'boolean') return [400, { error: '"standby" must be a boolean' }];
      core.node.standby = body.standby;
      return [200, { standby: body.standby }];
    },
  },
  fault: {
    method: 'POST',
    handle: (core, body) => {
      core.addFault(body as unknown as FaultRule);
      return [200, { faults: 'added' }];
    },
  },
  'faults/clear': {
    method: 'POST',
    handle: (core) => {
      core.clearFaults();
      return [200, { faults: 'cleared' }];
    },
  },
  requests: { method: 'GET', handle: (core) => [200, core.requests()] },
  'jwt/role': {
    method: 'POST',
    handle: (core, body) => {
      if (typeof body.name !== 'string') return [400, { error: '"name" must be a string' }];
      const mount = typeof body.mount === 'string' ? body.mount : 'jwt';
      core.setJwtRole(body.name, body.role as JwtRole, mount);
      return [200, { role: body.name.toLowerCase(), mount }];
    },
  },
  'oidc/role': {
    method: 'POST',
    handle: (core, body) => {
      if (typeof body.name !== 'string') return [400, { error: '"name" must be a string' }];
      if (body.mount !== undefined && typeof body.mount !== 'string') return [400, { error: '"mount" must be a string' }];
      const mount = body.mount ?? 'oidc';
      core.setOidcRole(body.name, body.role as OidcRole, mount);
      return [200, { role: body.name.toLowerCase(), mount }];
    },
  },
  'oidc/expire-states': {
    method: 'POST',
    handle: (core, body) => {
      if (body.mount !== undefined && typeof body.mount !== 'string') return [400, { error: '"mount" must be a string' }];
      return [200, { expired: core.expireOidcStates(body.mount) }];
    },
  },
  clock: {
    method: 'POST',
    handle: (core, body) => {
      const skew = body.skew_seconds;
      if (typeof skew !== 'number' || !Number.isFinite(skew)) return [400, { error: '"skew_seconds" must be a number' }];
      core.clockSkewSeconds = skew;
      return [200, { skew_seconds: skew }];
    },
  },
  'revoke-accessor': {
    method: 'POST',
    handle: (core, body) => {
      if (typeof body.accessor !== 'string') return [400, { error: '"accessor" must be a string' }];
      if (!core.revokeAccessor(body.accessor)) return [404, { error: `no token has accessor "${body.accessor}"` }];
      return [200, { revoked: true }];
    },
  },
  tokens: { method: 'GET', handle: (core) => [200, core.tokenViews()] },
  'aws/role': {
    method: 'POST',
    handle: (core, body) => {
      if (typeof body.name !== 'string') return [400, { error: '"name" must be a string' }];
      if (body.mount !== undefined && typeof body.mount !== 'string') return [400, { error: '"mount" must be a string' }];
      const mount = body.mount ?? 'aws';
      core.setAwsRole(body.name, body.role as AwsRole, mount);
      return [200, { role: body.name, mount }];
    },
  },
  'aws/issued': { method: 'GET', handle: (core) => [200, core.awsCredentials.issued()] },
  'aws/expire': {
    method: 'POST',
    handle: (core, body) => {
      const id = body.access_key_id;
      if (id !== undefined && typeof id !== 'string') return [400, { error: '"access_key_id" must be a string' }];
      if (id !== undefined && !core.awsCredentials.lookup(id)) return [404, { error: `no AWS credential has access key id "${id}"` }];
      return [200, { expired: core.awsCredentials.expireCredentials(id) }];
    },
  },
  'aws-auth/config': {
    method: 'POST',
    handle: (core, body) => {
      if (body.mount !== undefined && typeof body.mount !== 'string') return [400, { error: '"mount" must be a string' }];
      if (body.config === null || typeof body.config !== 'object') return [400, { error: '"config" must be an object' }];
      const mount = body.mount ?? 'aws';
      core.addAwsAuthMount(mount, body.config as AwsAuthMountConfig);
      return [200, { mount }];
    },
  },
  'aws-auth/role': {
    method: 'POST',
    handle: (core, body) => {
      if (typeof body.name !== 'string') return [400, { error: '"name" must be a string' }];
      if (body.mount !== undefined && typeof body.mount !== 'string') return [400, { error: '"mount" must be a string' }];
      const mount = body.mount ?? 'aws';
      core.setAwsAuthRole(body.name, body.role as AwsAuthRole, mount);
      return [200, { role: body.name.toLowerCase(), mount }];
    },
  },
  policy: {
    method: 'POST',
    handle: (core, body) => {
      if (typeof body.name !== 'string') return [400, { error: '"name" must be a string' }];
      core.policies.set(body.name, body.rules as PolicyRules);
      return [200, { policy: body.name.toLowerCase() }];
    },
  },
  kv: {
    method: 'POST',
    handle: (core, body) => {
      if (typeof body.path !== 'string') return [400, { error: '"path" must be a string' }];
      if (body.mount !== undefined && typeof body.mount !== 'string') return [400, { error: '"mount" must be a string' }];
      return [200, { version: core.putKv(body.path, body.data as Record<string, unknown>, body.mount ?? 'secret') }];
    },
  },
};

export async function handleControl(core: SandboxCore, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const name = url.pathname.slice('/__sandbox/'.length).replace(/\/+$/, '');
  const endpoint = ENDPOINTS[name];
  if (!endpoint) {
    sendJson(res, 404, { error: `unknown sandbox endpoint "${url.pathname}"` });
    return;
  }
  if ((req.method ?? 'GET').toUpperCase() !== endpoint.method) {
    res.setHeader('Allow', endpoint.method);
    sendJson(res, 405, { error: `use ${endpoint.method} for ${url.pathname}` });
    return;
  }
  const text = (await readBody(req)).toString('utf8').trim();
  let body: Record<string, unknown> = {};
  if (text !== '') {
    try {
      const parsed = JSON.parse(text) as unknown;
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('expected a JSON object');
      body = parsed as Record<string, unknown>;
    } catch (err) {
      sendJson(res, 400, { error: `invalid JSON body: ${(err as Error).message}` });
      return;
    }
  }
  try {
    const [status, out] = endpoint.handle(core, body);
    sendJson(res, status, out);
  } catch (err) {
    sendJson(res, 400, { error: (err as Error).message });
  }
}
