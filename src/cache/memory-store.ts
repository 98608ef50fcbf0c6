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
  // An evicted namespace gets a fresh token on its next read (see `versions`), so eviction here
  // only costs misses, never a stale entry.
  const versions = new LRUCache<string, string>({ max: maxEntries });
  const newToken = () => randomBytes(9).toString('base64url');
  const currentVersions = (namespaces: readonly string[]) =>
    namespaces.map((namespace) => {
      let token = versions.get(namespace);
      if (token === undefined) {
        token = newToken();
        versions.set(namespace, token);
      }
      return token;
    });

  return {
    kind: 'memory',
    remote: false,
    get: async (key) => entries.get(key),
    set: async (key, value, ttlSeconds) => {
      entries.set(key, value, { ttl: ttlSeconds * 1000 });
    },
    // In this process: always known, no round trip.
    knownVersions: currentVersions,
    versions: async (namespaces) => currentVersions(namespaces),
    bump: async (namespaces) => {
      for (const namespace of namespaces) versions.set(namespace, newToken());
    },
    ping: async () => {},
    close: async () => {
      entries.clear();
      versions.clear();
    },
  };
}
