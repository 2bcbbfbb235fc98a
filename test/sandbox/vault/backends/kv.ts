// Vault's KV secrets engine, version 2: `GET <mount>/data/<path>` (latest version, or `?version=N`) and
// `POST <mount>/data/<path>` with `{"data":{...},"options":{"cas":N}}`. Unlike the other backends it checks
// ACL policies (../acl.ts): reads need `read`, writes `create` (new path) or `update` on `<mount>/data/<path>`,
// the path a policy must grant (not `<mount>/<path>`). Tests and the demo seed secrets with `put()`.
import type { PolicyStore } from '../acl.ts';
import { badRequest, envelope, permissionDenied, VaultError } from '../http.ts';
import type { VaultRequest, VaultResponse } from '../http.ts';
import type { Backend, Route } from '../router.ts';

interface Version {
  data: Record<string, unknown>;
  created: string;
}

const notFound = (): VaultError => new VaultError(404);

export class KvV2Backend implements Backend {
  readonly type = 'kv';
  readonly routes: readonly Route[];
  private readonly secrets = new Map<string, Version[]>();

  /** `name` is the mount path, e.g. "secret". */
  constructor(
    readonly name: string,
    private readonly policies: PolicyStore,
  ) {
    this.routes = [{ pattern: 'data/*path', handlers: { read: (req) => this.read(req), update: (req) => this.write(req) } }];
  }

  /** Writes a new version of a secret, as an operator would (no policy check); returns its version number. */
  put(path: string, data: Record<string, unknown>): number {
    if (!data || typeof data !== 'object' || Array.isArray(data)) throw new Error('a KV secret is a JSON object');
    const key = path.replace(/^\/+|\/+$/g, '');
    if (key === '') throw new Error('a KV secret needs a path');
    const versions = this.secrets.get(key) ?? [];
    versions.push({ data: structuredClone(data), created: new Date().toISOString() });
    this.secrets.set(key, versions);
    return versions.length;
  }

  private check(req: VaultRequest, capability: 'read' | 'create' | 'update'): void {
    if (!this.policies.allows(req.token?.policies ?? [], req.fullPath, capability)) throw permissionDenied();
  }

  private metadata(version: Version, number: number): Record<string, unknown> {
    return { created_time: version.created, custom_metadata: null, deletion_time: '', destroyed: false, version: number };
  }

  private read(req: VaultRequest): VaultResponse {
    this.check(req, 'read');
    const versions = this.secrets.get(req.params.path ?? '');
    if (!versions || versions.length === 0) throw notFound();
    const wanted = req.query.get('version');
    const number = wanted === null || wanted === '' || wanted === '0' ? versions.length : Number(wanted);
    if (!Number.isInteger(number) || number < 1) throw badRequest(`error converting input ${wanted} for field "version"`);
    const version = versions[number - 1];
    if (!version) throw notFound();
    return envelope({ data: { data: structuredClone(version.data), metadata: this.metadata(version, number) } });
  }

  private write(req: VaultRequest): VaultResponse {
    const path = req.params.path ?? '';
    const versions = this.secrets.get(path) ?? [];
    this.check(req, versions.length === 0 ? 'create' : 'update');
    const data = req.data.data;
    if (data === undefined || data === null) throw badRequest('no data provided');
    if (typeof data !== 'object' || Array.isArray(data)) throw badRequest('error parsing data: expected a map');
    const cas = (req.data.options as { cas?: unknown } | undefined)?.cas;
    if (cas !== undefined && cas !== versions.length) {
      throw badRequest(`check-and-set parameter did not match the current version`);
    }
    const number = this.put(path, data as Record<string, unknown>);
    const version = this.secrets.get(path)?.[number - 1] as Version;
    return envelope({ data: this.metadata(version, number) });
  }
}
