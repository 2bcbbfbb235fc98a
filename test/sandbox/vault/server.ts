// The HTTP face of the sandbox: Vault's /v1 API in front of SandboxCore, plus the /__sandbox control
// endpoints (control.ts). Every /v1 request passes, in order: logging → namespace resolution → injected
// faults → seal/standby gate → routing (404/405) → token check (403) → backend.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { handleControl } from './control.ts';
import { normalizeNamespace } from './core.ts';
import type { SandboxCore } from './core.ts';
import { VaultError } from './http.ts';
import type { Operation, VaultRequest, VaultResponse } from './http.ts';
import { uuid } from './ids.ts';
import { Router } from './router.ts';
import type { MountMatch } from './router.ts';
import { namespaceAllows } from './tokens.ts';
import { BodyTooLarge, readBody, sendJson } from './wire.ts';

function operationFor(method: string, query: URLSearchParams): Operation | undefined {
  switch (method) {
    case 'GET':
      return query.get('list') === 'true' || query.get('list') === '1' ? 'list' : 'read';
    case 'HEAD':
      return 'head';
    case 'POST':
    case 'PUT':
      return 'update';
    case 'DELETE':
      return 'delete';
    case 'LIST':
      return 'list';
    case 'PATCH':
      return 'patch';
    default:
      return undefined;
  }
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** X-Vault-Token, else `Authorization: Bearer <token>`. */
function clientToken(req: IncomingMessage): string | undefined {
  const direct = headerValue(req, 'x-vault-token');
  if (direct) return direct.trim();
  const auth = headerValue(req, 'authorization');
  const match = auth ? /^Bearer\s+(.+)$/i.exec(auth.trim()) : null;
  return match?.[1]?.trim() || undefined;
}

/**
 * Splits "ns1/ns2/auth/jwt/login" into namespace "ns1/ns2" and path "auth/jwt/login": the shortest prefix
 * after which the rest lies under a mount. The prefix is appended to the X-Vault-Namespace header's
 * namespace. All namespaces have the same mounts in the sandbox.
 */
function resolveNamespace(router: Router, headerNs: string, rawPath: string): { namespace: string; path: string; mount?: MountMatch } {
  const segments = rawPath.split('/');
  for (let i = 0; i < segments.length; i++) {
    const rest = segments.slice(i).join('/');
    const mount = router.findMount(rest);
    if (mount) {
      const namespace = normalizeNamespace([headerNs, ...segments.slice(0, i)].join('/'));
      return { namespace, path: rest.replace(/\/+$/, ''), mount };
    }
  }
  return { namespace: headerNs, path: rawPath.replace(/\/+$/, '') };
}

function errorBody(messages: string[]): { errors: string[] } {
  return { errors: messages };
}

export function createHandler(core: SandboxCore): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(core, req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, errorBody([`sandbox internal error: ${(err as Error).message}`]));
      else res.destroy();
    });
  };
}

async function handle(core: SandboxCore, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://sandbox.invalid');
  if (url.pathname.startsWith('/__sandbox/')) {
    await handleControl(core, req, res, url);
    return;
  }
  if (!url.pathname.startsWith('/v1/')) {
    sendJson(res, 404, errorBody([]));
    return;
  }
  const method = (req.method ?? 'GET').toUpperCase();
  let rawPath: string;
  try {
    rawPath = decodeURIComponent(url.pathname.slice('/v1/'.length));
  } catch {
    rawPath = url.pathname.slice('/v1/'.length);
  }
  const headerNs = normalizeNamespace(headerValue(req, 'x-vault-namespace'));
  const resolved = resolveNamespace(core.router, headerNs, rawPath);
  const record = core.record({
    method,
    path: resolved.path,
    status: 0,
    ...(resolved.namespace !== '' ? { namespace: resolved.namespace } : {}),
  });
  const finish = (status: number, body: unknown): void => {
    record.status = status;
    sendJson(res, status, body, method !== 'HEAD');
  };

  try {
    await serve(core, req, method, url, rawPath, resolved, finish);
  } catch (err) {
    record.status = 500;
    throw err;
  }
}

async function serve(
  core: SandboxCore,
  req: IncomingMessage,
  method: string,
  url: URL,
  rawPath: string,
  resolved: Resolved,
  finish: (status: number, body: unknown) => void,
): Promise<void> {
  let body: Buffer;
  try {
    body = await readBody(req);
  } catch (err) {
    if (err instanceof BodyTooLarge) {
      finish(413, errorBody(['http: request body too large']));
      return;
    }
    throw err;
  }

  // Injected faults come first: they model the network and the server's surroundings.
  const fault = core.takeFault(method, [resolved.path, rawPath]);
  if (fault) {
    if (fault.delayMs) await sleep(fault.delayMs);
    if (fault.status !== undefined) {
      finish(fault.status, fault.body !== undefined ? fault.body : errorBody([`sandbox fault: HTTP ${fault.status}`]));
      return;
    }
  }

  const response = await dispatch(core, req, method, url, resolved, body);
  finishResponse(response, finish, resolved.mount?.backend.type ?? '');
}

type Resolved = ReturnType<typeof resolveNamespace>;

async function dispatch(core: SandboxCore, req: IncomingMessage, method: string, url: URL, resolved: Resolved, body: Buffer): Promise<VaultResponse | VaultError> {
  const isHealth = resolved.path === 'sys/health';
  // A sealed node answers nothing but sys/health.
  if (core.node.sealed && !isHealth) return new VaultError(503, 'Vault is sealed');
  // A standby normally forwards to (or redirects to) the active node. The sandbox models a standby that
  // cannot do that: real Vault then answers 500 "local node not active but active cluster node not found";
  // the sandbox answers 503 with that text — the reference lists 503 for "sealed/maintenance" and sys/health
  // reports the standby as 429 — so clients see a retryable server-side unavailability either way.
  if (core.node.standby && !isHealth) return new VaultError(503, 'local node not active but active cluster node not found');

  const mount = resolved.mount;
  if (!mount) return new VaultError(404, `no handler for route "${resolved.path}". route entry not found.`);
  const match = Router.matchRoute(mount.backend, mount.rest);
  if (!match) return new VaultError(404, 'unsupported path');
  const operation = operationFor(method, url.searchParams);
  const handler = operation ? match.route.handlers[operation] : undefined;
  if (!operation || !handler) return new VaultError(405, 'unsupported operation');

  let data: Record<string, unknown>;
  if (operation === 'update' || operation === 'patch') {
    const text = body.toString('utf8').trim();
    let parsed: unknown = {};
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch (err) {
        return new VaultError(400, `failed to parse JSON input: ${(err as Error).message}`);
      }
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      return new VaultError(400, 'failed to parse JSON input: expected a JSON object');
    }
    data = parsed as Record<string, unknown>;
  } else {
    data = Object.fromEntries(url.searchParams);
  }

  const token = clientToken(req);
  const vaultReq: VaultRequest = {
    operation,
    method,
    namespace: resolved.namespace,
    fullPath: resolved.path,
    mountPath: mount.mountPath,
    path: mount.rest,
    params: match.params,
    query: url.searchParams,
    data,
    headers: req.headers,
    ...(token ? { clientToken: token } : {}),
  };
  if (!match.route.unauthenticated) {
    const entry = core.tokens.valid(token);
    // Unknown, expired or revoked tokens, and tokens from another namespace, are all "permission denied".
    if (!entry || !namespaceAllows(entry.namespace, resolved.namespace)) return new VaultError(403, 'permission denied');
    vaultReq.token = entry;
  }

  try {
    return await handler(vaultReq);
  } catch (err) {
    if (err instanceof VaultError) return err;
    return new VaultError(500, (err as Error).message);
  }
}

function finishResponse(response: VaultResponse | VaultError, finish: (status: number, body: unknown) => void, mountType: string): void {
  if (response instanceof VaultError) {
    finish(response.status, errorBody(response.errors));
    return;
  }
  switch (response.kind) {
    case 'empty':
      finish(204, undefined);
      return;
    case 'raw':
      finish(response.status, response.body);
      return;
    case 'envelope':
      finish(response.status ?? 200, {
        request_id: uuid(),
        lease_id: response.leaseId ?? '',
        renewable: response.renewable ?? false,
        lease_duration: response.leaseDuration ?? 0,
        data: response.data ?? null,
        wrap_info: null,
        warnings: response.warnings ?? null,
        auth: response.auth ?? null,
        mount_type: mountType,
      });
      return;
  }
}
