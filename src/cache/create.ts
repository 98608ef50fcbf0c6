import type { Config } from '../config.js';
import type { ReadinessCheck } from '../readiness.js';
import { createRedis } from '../redis.js';
import { createMemoryStore } from './memory-store.js';
import { createRedisStore } from './redis-store.js';
import { ResponseCache } from './response-cache.js';

/**
 * Bump when the shape of cached payloads changes: during a rolling deploy, old and new instances
 * then never read each other's entries.
 */
const PAYLOAD_LAYOUT = 'v2:';

/** Redis on CACHE_REDIS_URL (default REDIS_URL) with its own connection, else the in-memory LRU. */
export function createResponseCache(config: Config): ResponseCache {
  const options = {
    ttlSeconds: config.cacheTtlSeconds,
    timeoutMs: config.cacheTimeoutMs,
    disabled: !config.cacheEnabled,
  };
  if (!config.cacheRedisUrl) return new ResponseCache(createMemoryStore(config.cacheMaxEntries), options);
  const redis = createRedis(config.cacheRedisUrl, 'conduit-cache', 'request', {
    // ResponseCache gives up on a call after cacheTimeoutMs; ioredis drops the command itself a
    // little later, so a hung Redis does not pile up commands (and its own timer never wins).
    commandTimeout: config.cacheTimeoutMs + 1000,
    // A command caught by a disconnect is not replayed later: the request has moved on.
    maxRetriesPerRequest: 0,
  });
  // Connection trouble arrives as events; ResponseCache notices it through failing calls instead.
  redis.on('error', () => {});
  // Hears every bump, so versions read once can be reused until one is bumped (redis-store.ts).
  const subscriber = redis.duplicate({ connectionName: 'conduit-cache-bumps', autoResubscribe: false });
  subscriber.on('error', () => {});
  return new ResponseCache(
    createRedisStore(redis, `${config.cacheKeyPrefix}${PAYLOAD_LAYOUT}`, subscriber),
    options,
  );
}

/**
 * Reports the cache without failing readiness: with the cache down the API still answers (from
 * the database), so taking the instance out of a load balancer would only make things worse.
 */
export function cacheReadiness(cache: ResponseCache): ReadinessCheck {
  return { name: 'cache', check: async () => cache.health() };
}
