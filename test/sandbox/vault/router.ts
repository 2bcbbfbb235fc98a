// A mount table in the way Vault has one: every backend is mounted at a path ("sys/", "auth/token/",
// "auth/jwt/", later "aws/", "secret/", ...) and declares its own routes relative to that path.
// Adding an engine means writing one module that implements `Backend` and calling `router.mount()`.
import type { Handler, Operation } from './http.ts';

export interface Route {
  /**
   * Path relative to the mount. Segments are literal, `:name` (one segment) or `*name` (the rest, at
   * least one segment) — e.g. "login", "creds/:role", "data/*path".
   */
  pattern: string;
  /** Login and health endpoints need no token; everything else does. */
  unauthenticated?: boolean;
  handlers: Partial<Record<Operation, Handler>>;
}

export interface Backend {
  /** Reported as `mount_type` in response envelopes, e.g. "jwt", "token", "system", "aws". */
  readonly type: string;
  readonly routes: readonly Route[];
}

export interface MountMatch {
  mountPath: string;
  backend: Backend;
  /** Path relative to the mount. */
  rest: string;
}

export interface RouteMatch {
  route: Route;
  params: Record<string, string>;
}

export function normalizeMountPath(path: string): string {
  const trimmed = path.replace(/^\/+|\/+$/g, '');
  if (trimmed === '') throw new Error('mount path must not be empty');
  return `${trimmed}/`;
}

export class Router {
  private readonly mounts = new Map<string, Backend>();

  mount(path: string, backend: Backend): void {
    const key = normalizeMountPath(path);
    if (this.mounts.has(key)) throw new Error(`path is already in use at ${key}`);
    this.mounts.set(key, backend);
  }

  unmount(path: string): void {
    this.mounts.delete(normalizeMountPath(path));
  }

  backend(path: string): Backend | undefined {
    return this.mounts.get(normalizeMountPath(path));
  }

  /** The mount with the longest path that `path` lies under. */
  findMount(path: string): MountMatch | undefined {
    const withSlash = path.endsWith('/') ? path : `${path}/`;
    let best: MountMatch | undefined;
    for (const [mountPath, backend] of this.mounts) {
      if (!withSlash.startsWith(mountPath)) continue;
      if (best && best.mountPath.length >= mountPath.length) continue;
      best = { mountPath, backend, rest: path.slice(mountPath.length).replace(/\/+$/, '') };
    }
    return best;
  }

  /** The first route of `backend` whose pattern matches `rest`. */
  static matchRoute(backend: Backend, rest: string): RouteMatch | undefined {
    const segments = rest === '' ? [] : rest.split('/');
    for (const route of backend.routes) {
      const params = matchPattern(route.pattern, segments);
      if (params) return { route, params };
    }
    return undefined;
  }
}

function matchPattern(pattern: string, segments: string[]): Record<string, string> | undefined {
  const parts = pattern === '' ? [] : pattern.split('/');
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] ?? '';
    if (part.startsWith('*')) {
      const rest = segments.slice(i);
      if (rest.length === 0 || rest.some((s) => s === '')) return undefined;
      params[part.slice(1)] = rest.join('/');
      return params;
    }
    const segment = segments[i];
    if (segment === undefined) return undefined;
    if (part.startsWith(':')) {
      if (segment === '') return undefined;
      params[part.slice(1)] = decodeURIComponent(segment);
    } else if (part !== segment) {
      return undefined;
    }
  }
  return segments.length === parts.length ? params : undefined;
}
