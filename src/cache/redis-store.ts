import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { CacheStore } from './port.js';

/**
 * The shared store: every API process reads and bumps the same keys, so an invalidation made by
 * one instance is seen by all of them on their next request.
 *
 * Layout under `prefix`: `d:<entry>` holds a cached body, `v:<namespace>` the namespace's current
 * version token. Both always carry a TTL. Invalidation is a SET of a fresh random token (never an
 * INCR: a counter that expired or was evicted would count 1, 2, … again and could meet entries
 * built on those numbers before; a random token is never reused). So any key may expire or be
 * evicted at any time (a cache Redis with an LRU policy): the worst outcome is a miss.
 */
const newToken = () => randomBytes(9).toString('base64url');

export function createRedisStore(redis: Redis, prefix: string): CacheStore {
  const entryKey = (key: string) => `${prefix}d:${key}`;
  const versionKey = (namespace: string) => `${prefix}v:${namespace}`;

  return {
    kind: 'redis',
    remote: true,
    get: async (key) => (await redis.get(entryKey(key))) ?? undefined,
    set: async (key, value, ttlSeconds) => {
      await redis.set(entryKey(key), value, 'EX', ttlSeconds);
    },
    versions: async (namespaces, ttlSeconds) => {
      if (!namespaces.length) return [];
      const tokens = await redis.mget(namespaces.map(versionKey));
      const missing = namespaces.filter((_, i) => tokens[i] === null);
      if (!missing.length) return tokens as string[];
      // Rare (first use, expiry, eviction): create a token unless another process just did, and
      // read whichever won, atomically.
      const transaction = redis.multi();
      for (const namespace of missing) {
        transaction.set(versionKey(namespace), newToken(), 'EX', ttlSeconds, 'NX').get(versionKey(namespace));
      }
      const results = await transaction.exec();
      const created = (results ?? [])
        .filter((_, i) => i % 2 === 1)
        .map(([error, token]) => {
          if (error || typeof token !== 'string') throw error ?? new Error('no version token');
          return token;
        });
      let next = 0;
      return tokens.map((token) => token ?? (created[next++] as string));
    },
    bump: async (namespaces, ttlSeconds) => {
      if (!namespaces.length) return;
      const pipeline = redis.multi();
      for (const namespace of namespaces) {
        pipeline.set(versionKey(namespace), newToken(), 'EX', ttlSeconds);
      }
      const results = await pipeline.exec();
      const failed = results?.find(([error]) => error);
      if (!results || failed) throw failed?.[0] ?? new Error('cache invalidation was discarded');
    },
    ping: async () => {
      await redis.ping();
    },
    onAvailable: (listener) => {
      redis.on('ready', listener);
    },
    close: async () => {
      // A hung Redis must not hold up shutdown: QUIT politely, then drop the socket regardless.
      let timer: NodeJS.Timeout | undefined;
      const giveUp = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, 1000);
      });
      await Promise.race([redis.quit().catch(() => {}), giveUp]);
      clearTimeout(timer);
      redis.disconnect();
    },
  };
}
