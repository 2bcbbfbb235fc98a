// The system backend, mounted at sys/. Only sys/health for now; sys/seal-status, sys/mounts, ... can be
// added as further routes.
import { VaultError } from '../http.ts';
import type { VaultRequest, VaultResponse } from '../http.ts';
import type { Backend, Route } from '../router.ts';

/** What the node reports about itself. */
export interface NodeState {
  initialized: boolean;
  sealed: boolean;
  standby: boolean;
  performanceStandby: boolean;
  version: string;
  clusterName: string;
  clusterId: string;
  enterprise: boolean;
  /** Added to the reported time (server_time_utc; the server adds it to Date headers too). */
  clockSkewSeconds: number;
}

/** Default status codes of sys/health and the query parameter that overrides each. */
const CODE_DEFAULTS = {
  activecode: 200,
  standbycode: 429,
  drsecondarycode: 472,
  performancestandbycode: 473,
  haunhealthycode: 474,
  uninitcode: 501,
  sealedcode: 503,
  removedcode: 530,
} as const;

type CodeParam = keyof typeof CODE_DEFAULTS;

/** A boolean flag: present without a value (`?standbyok`) counts as true. */
function flag(query: URLSearchParams, name: string): boolean {
  if (!query.has(name)) return false;
  const value = (query.get(name) ?? '').trim().toLowerCase();
  if (value === '' || value === 'true' || value === '1' || value === 't') return true;
  if (value === 'false' || value === '0' || value === 'f') return false;
  throw new VaultError(400, `bad value for ${name} parameter`);
}

function code(query: URLSearchParams, name: CodeParam): number {
  const raw = query.get(name);
  if (raw === null) return CODE_DEFAULTS[name];
  const value = Number(raw);
  // Vault answers an unparsable code with 400 and an empty error list. Codes below 200 are refused too:
  // an interim 1xx status cannot end an HTTP exchange.
  if (raw.trim() === '' || !Number.isInteger(value) || value < 200 || value > 999) throw new VaultError(400);
  return value;
}

export class SysBackend implements Backend {
  readonly type = 'system';
  readonly routes: readonly Route[];

  constructor(private readonly node: NodeState) {
    const health = (req: VaultRequest): VaultResponse => this.health(req);
    this.routes = [{ pattern: 'health', unauthenticated: true, handlers: { read: health, head: health } }];
  }

  private health(req: VaultRequest): VaultResponse {
    const q = req.query;
    const standbyOk = flag(q, 'standbyok');
    const perfStandbyOk = flag(q, 'perfstandbyok');
    const codes = Object.fromEntries(
      (Object.keys(CODE_DEFAULTS) as CodeParam[]).map((name) => [name, code(q, name)]),
    ) as Record<CodeParam, number>;
    const n = this.node;
    let status: number;
    if (!n.initialized) status = codes.uninitcode;
    else if (n.sealed) status = codes.sealedcode;
    else if (n.standby && !standbyOk) status = codes.standbycode;
    else if (n.performanceStandby && !perfStandbyOk) status = codes.performancestandbycode;
    else status = codes.activecode;

    if (req.operation === 'head') return { kind: 'raw', status };
    const body: Record<string, unknown> = {
      initialized: n.initialized,
      sealed: n.sealed,
      // A sealed node is also reported as standby, as Vault does.
      standby: n.sealed || n.standby,
      performance_standby: n.performanceStandby,
      replication_performance_mode: 'disabled',
      replication_dr_mode: 'disabled',
      server_time_utc: Math.floor(Date.now() / 1000 + n.clockSkewSeconds),
      version: n.version,
      enterprise: n.enterprise,
      echo_duration_ms: 0,
      clock_skew_ms: 0,
    };
    if (!n.sealed) {
      body.cluster_name = n.clusterName;
      body.cluster_id = n.clusterId;
    }
    return { kind: 'raw', status, body };
  }
}
