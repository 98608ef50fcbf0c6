import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { CacheStore } from './port.js';

/** Bounds the memory held by cached bodies whatever their number (string length ≈ bytes / 2). */
const MAX_CACHED_CHARS = 32 * 1024 * 1024;

/**
 * The embedded default (no REDIS_URL): a bounded LRU with a TTL per entry. One process only, so
 * nothing here has to agree with another instance.
 */
export function createMemoryStore(maxEntries: number): CacheStore {
  const entries = new LRUCache<string, string>({
    max: maxEntries,
    maxSize: MAX_CACHED_CHARS,
    sizeCalculation: (value, key) => value.length + key.length,
    // Every entry gets its TTL from set(); this only tells lru-cache to track TTLs at all.
    ttl: 60_000,
  });
  const versions = new LRUCache<string, string>({
    max: maxEntries,
    // A namespace whose token is pushed out would read as "never bumped" again and could make
    // entries built before its last bump reachable again. Rare (more distinct namespaces bumped
    // than entries allowed), so the safe answer is to drop every entry.
    dispose: (_value, _key, reason) => {
      if (reason === 'evict') entries.clear();
    },
  });

  return {
    kind: 'memory',
    remote: false,
    get: async (key) => entries.get(key),
    set: async (key, value, ttlSeconds) => {
      entries.set(key, value, { ttl: ttlSeconds * 1000 });
    },
    versions: async (namespaces) => namespaces.map((namespace) => versions.get(namespace) ?? null),
    bump: async (namespaces) => {
      for (const namespace of namespaces) versions.set(namespace, randomBytes(9).toString('base64url'));
    },
    ping: async () => {},
    close: async () => {
      entries.clear();
      versions.clear();
    },
  };
}
