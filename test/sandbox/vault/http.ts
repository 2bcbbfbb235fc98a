// Shapes shared by the router and the backends: the request a backend sees, the responses it returns,
// and the error it throws. The server turns these into Vault's wire format.
import type { IncomingHttpHeaders } from 'node:http';
import type { TokenEntry } from './tokens.ts';

/** Vault's logical operations; HTTP methods map onto them (PUT ≡ POST, GET ?list=true ≡ LIST). */
export type Operation = 'read' | 'update' | 'delete' | 'list' | 'patch' | 'head';

export interface VaultRequest {
  operation: Operation;
  /** HTTP method as sent. */
  method: string;
  /** Namespace path without surrounding slashes; "" is the root namespace. */
  namespace: string;
  /** Path relative to the namespace, e.g. "auth/jwt/login". */
  fullPath: string;
  /** Mount path with a trailing slash, e.g. "auth/jwt/". */
  mountPath: string;
  /** Path relative to the mount, e.g. "login". */
  path: string;
  /** Named segments of the matched route pattern. */
  params: Record<string, string>;
  query: URLSearchParams;
  /** Request data: the JSON body for writes, the query parameters for reads. */
  data: Record<string, unknown>;
  headers: IncomingHttpHeaders;
  /** The client token sent with the request, if any. */
  clientToken?: string;
  /** The resolved, valid token for authenticated routes. */
  token?: TokenEntry;
}

/** The `auth` block of logins and token renewals. */
export interface AuthBlock {
  client_token: string;
  accessor: string;
  policies: string[];
  token_policies: string[];
  identity_policies: string[];
  metadata: Record<string, string>;
  lease_duration: number;
  renewable: boolean;
  entity_id: string;
  token_type: 'service' | 'batch';
  orphan: boolean;
  num_uses: number;
  mfa_requirement: null;
}

export type VaultResponse =
  /** The standard secret/auth envelope; `mount_type` and `request_id` are filled in by the server. */
  | {
      kind: 'envelope';
      status?: number;
      data?: unknown;
      auth?: AuthBlock | null;
      warnings?: string[] | null;
      leaseId?: string;
      leaseDuration?: number;
      renewable?: boolean;
    }
  /** A body written as-is (sys/health and other non-enveloped endpoints); no body for HEAD. */
  | { kind: 'raw'; status: number; body?: unknown }
  /** 204 No Content. */
  | { kind: 'empty' };

export type Handler = (req: VaultRequest) => VaultResponse | Promise<VaultResponse>;

/** Thrown by backends; becomes `{"errors":[...]}` with the given status. */
export class VaultError extends Error {
  readonly status: number;
  readonly errors: string[];
  constructor(status: number, ...errors: string[]) {
    super(errors[0] ?? `HTTP ${status}`);
    this.status = status;
    this.errors = errors;
  }
}

export const permissionDenied = (): VaultError => new VaultError(403, 'permission denied');
export const badRequest = (message: string): VaultError => new VaultError(400, message);

export function envelope(fields: Omit<Extract<VaultResponse, { kind: 'envelope' }>, 'kind'>): VaultResponse {
  return { kind: 'envelope', ...fields };
}

export const noContent = (): VaultResponse => ({ kind: 'empty' });

/** Reads a string field from request data; absent → "". */
export function stringField(data: Record<string, unknown>, name: string): string {
  const value = data[name];
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw badRequest(`error converting input for field "${name}": expected a string`);
}
