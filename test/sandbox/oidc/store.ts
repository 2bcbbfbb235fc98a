// In-memory storage for the sandbox OIDC provider (an oidc-provider "adapter").
//
// Besides plain storage it reproduces two Dex refresh-token rules that oidc-provider does not have:
//  - a rotated (consumed) refresh token is gone at once, so presenting it again is a plain
//    `invalid_grant` and does not revoke the newer token (oidc-provider would revoke the whole grant);
//  - there is at most one refresh token per (user, client): saving a new one deletes the others.

type Payload = Record<string, unknown>;

interface Entry {
  payload: Payload;
  expiresAt: number | undefined; // epoch ms
}

/** The adapter interface oidc-provider expects, one instance per model name. */
export interface ProviderAdapter {
  upsert(id: string, payload: Payload, expiresIn?: number): Promise<void>;
  find(id: string): Promise<Payload | undefined>;
  findByUid(uid: string): Promise<Payload | undefined>;
  findByUserCode(userCode: string): Promise<Payload | undefined>;
  consume(id: string): Promise<void>;
  destroy(id: string): Promise<void>;
  revokeByGrantId(grantId: string): Promise<void>;
}

export interface StoreEvents {
  refreshTokenSaved?: () => void;
}

export class SandboxStore {
  readonly #models = new Map<string, Map<string, Entry>>();
  readonly #events: StoreEvents;

  constructor(events: StoreEvents = {}) {
    this.#events = events;
  }

  #model(name: string): Map<string, Entry> {
    let m = this.#models.get(name);
    if (!m) {
      m = new Map();
      this.#models.set(name, m);
    }
    return m;
  }

  #live(name: string, id: string): Entry | undefined {
    const m = this.#model(name);
    const e = m.get(id);
    if (e && e.expiresAt !== undefined && e.expiresAt <= Date.now()) {
      m.delete(id);
      return undefined;
    }
    return e;
  }

  #findBy(name: string, field: string, value: string): Payload | undefined {
    for (const [id, e] of this.#model(name)) {
      if (e.payload[field] === value && this.#live(name, id)) return structuredClone(e.payload);
    }
    return undefined;
  }

  /** Number of stored, unexpired refresh tokens (for tests and debugging). */
  refreshTokenCount(): number {
    let n = 0;
    for (const id of [...this.#model('RefreshToken').keys()]) if (this.#live('RefreshToken', id)) n++;
    return n;
  }

  /** Makes every stored refresh token run out now (it stays stored until looked up, as expired). Returns how many. */
  expireRefreshTokens(): number {
    let n = 0;
    for (const id of [...this.#model('RefreshToken').keys()]) {
      const e = this.#live('RefreshToken', id);
      if (e) {
        e.expiresAt = Date.now() - 1;
        n++;
      }
    }
    return n;
  }

  /** Deletes every refresh token (revocation by an administrator). Returns how many. */
  revokeRefreshTokens(): number {
    const n = this.refreshTokenCount();
    this.#model('RefreshToken').clear();
    return n;
  }

  /** The factory handed to oidc-provider as `adapter`. */
  readonly adapterFactory = (name: string): ProviderAdapter => {
    const model = () => this.#model(name);
    return {
      upsert: async (id, payload, expiresIn) => {
        if (name === 'RefreshToken') {
          // Dex keeps one refresh token per (user, client): a new one replaces any other.
          for (const [otherId, e] of model()) {
            if (otherId !== id && e.payload.accountId === payload.accountId && e.payload.clientId === payload.clientId) {
              model().delete(otherId);
            }
          }
          if (!model().has(id)) this.#events.refreshTokenSaved?.();
        }
        model().set(id, {
          payload: structuredClone(payload),
          expiresAt: typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : undefined,
        });
      },
      find: async (id) => {
        const e = this.#live(name, id);
        return e ? structuredClone(e.payload) : undefined;
      },
      findByUid: async (uid) => {
        return this.#findBy(name, 'uid', uid);
      },
      findByUserCode: async (userCode) => {
        return this.#findBy(name, 'userCode', userCode);
      },
      consume: async (id) => {
        if (name === 'RefreshToken') {
          // Rotation: the previous refresh token stops existing the moment it is used.
          model().delete(id);
          return;
        }
        const e = this.#live(name, id);
        if (e) e.payload.consumed = Math.floor(Date.now() / 1000);
      },
      destroy: async (id) => {
        model().delete(id);
      },
      revokeByGrantId: async (grantId) => {
        for (const [id, e] of model()) if (e.payload.grantId === grantId) model().delete(id);
      },
    };
  };
}
