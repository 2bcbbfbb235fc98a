// ACL policies, the part the sandbox enforces: only the KV v2 engine checks them (the token, JWT, OIDC and
// AWS endpoints accept any valid token, as before). A policy maps path patterns to capabilities, as Vault's
// `path "secret/data/app/*" { capabilities = ["read"] }` does:
//
//   vault.setPolicy('lambda-fn', { 'secret/data/app/*': ['read'] });
//
// Matching (a simplification of Vault's priority rules): an exact pattern wins over globs; among globs
// (`*` at the end: any suffix; `+`: one segment) the longest pattern wins; the capabilities of every policy
// of the token at that winning pattern are merged, and `deny` there refuses. `root` may do everything;
// a policy the sandbox does not know grants nothing.

export type Capability = 'create' | 'read' | 'update' | 'patch' | 'delete' | 'list' | 'sudo' | 'deny';
export type PolicyRules = Record<string, Capability[]>;

const CAPABILITIES: ReadonlySet<string> = new Set(['create', 'read', 'update', 'patch', 'delete', 'list', 'sudo', 'deny']);

function matches(pattern: string, path: string): boolean {
  const glob = pattern.endsWith('*');
  const fixed = glob ? pattern.slice(0, -1) : pattern;
  const want = fixed.split('/');
  const have = path.split('/');
  if (glob ? have.length < want.length : have.length !== want.length) return false;
  for (let i = 0; i < want.length; i++) {
    const w = want[i] as string;
    const h = have[i] as string;
    const last = i === want.length - 1;
    if (w === '+') continue;
    if (glob && last ? !h.startsWith(w) : w !== h) return false;
  }
  return true;
}

export class PolicyStore {
  private readonly policies = new Map<string, PolicyRules>();

  set(name: string, rules: PolicyRules): void {
    if (typeof name !== 'string' || name.trim() === '' || name.toLowerCase() === 'root') throw new Error(`invalid policy name ${JSON.stringify(name)}`);
    if (!rules || typeof rules !== 'object') throw new Error('policy rules must map paths to capability lists');
    for (const [path, caps] of Object.entries(rules)) {
      if (!Array.isArray(caps) || caps.some((c) => !CAPABILITIES.has(c))) throw new Error(`invalid capabilities for path "${path}"`);
    }
    this.policies.set(name.toLowerCase(), structuredClone(rules));
  }

  /** Whether a token with `policies` may perform `capability` on `path` (namespace-relative, e.g. "secret/data/app/db"). */
  allows(policies: readonly string[], path: string, capability: Capability): boolean {
    if (policies.includes('root')) return true;
    const candidates: Array<{ pattern: string; caps: Capability[] }> = [];
    for (const name of policies) {
      for (const [pattern, caps] of Object.entries(this.policies.get(name) ?? {})) {
        if (matches(pattern.replace(/^\/+/, ''), path)) candidates.push({ pattern, caps });
      }
    }
    if (candidates.length === 0) return false;
    const exact = candidates.filter((c) => !c.pattern.endsWith('*') && !c.pattern.includes('+'));
    const pool = exact.length > 0 ? exact : candidates;
    const best = Math.max(...pool.map((c) => c.pattern.length));
    const winning = pool.filter((c) => c.pattern.length === best).flatMap((c) => c.caps);
    return !winning.includes('deny') && winning.includes(capability);
  }
}
