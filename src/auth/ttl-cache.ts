/**
 * A bounded in-process cache whose entries each carry their own expiry: the least recently
 * used entry goes first when it is full, and an expired entry is never returned. Used for
 * validated Keystone tokens, where the expiry is the earlier of the cache time and the
 * token's own `expires_at`.
 */
export interface TtlCache<V> {
  /** The value, or undefined when absent or expired (an expired entry is dropped). */
  get(key: string): V | undefined;
  /** Stores `value` until `expiresAtMs` (epoch ms); a time not in the future stores nothing. */
  set(key: string, value: V, expiresAtMs: number): void;
  delete(key: string): void;
  clear(): void;
  readonly size: number;
}

export interface TtlCacheOptions {
  /** Most entries kept; at least 1. */
  readonly maxEntries: number;
  /** Epoch milliseconds (a port, so tests can move time). */
  readonly now?: () => number;
}

/**
 * @example
 *   const cache = createTtlCache<Identity>({ maxEntries: 10_000 });
 *   cache.set(key, identity, Math.min(Date.now() + 300_000, identity.expiresAtMs));
 */
export function createTtlCache<V>(options: TtlCacheOptions): TtlCache<V> {
  const now = options.now ?? Date.now;
  const max = Math.max(1, options.maxEntries);
  // A Map iterates in insertion order: re-inserting on each hit keeps the oldest first.
  const entries = new Map<string, { readonly value: V; readonly expiresAtMs: number }>();
  return {
    get(key) {
      const entry = entries.get(key);
      if (entry === undefined) return undefined;
      entries.delete(key);
      if (entry.expiresAtMs <= now()) return undefined;
      entries.set(key, entry);
      return entry.value;
    },
    set(key, value, expiresAtMs) {
      entries.delete(key);
      if (expiresAtMs <= now()) return;
      while (entries.size >= max) {
        const oldest = entries.keys().next();
        if (oldest.done) break;
        entries.delete(oldest.value);
      }
      entries.set(key, { value, expiresAtMs });
    },
    delete(key) {
      entries.delete(key);
    },
    clear() {
      entries.clear();
    },
    get size() {
      return entries.size;
    },
  };
}
