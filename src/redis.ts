import { Redis, type RedisOptions } from 'ioredis';

/**
 * One way to open a Redis connection. Request-path connections fail fast (a request must not
 * hang on Redis); BullMQ worker connections need `maxRetriesPerRequest: null` (they block).
 */
export function createRedis(
  url: string,
  name: string,
  kind: 'request' | 'blocking' = 'request',
  extra: RedisOptions = {},
): Redis {
  const options: RedisOptions =
    kind === 'blocking'
      ? { connectionName: name, maxRetriesPerRequest: null, enableReadyCheck: true }
      : {
          connectionName: name,
          maxRetriesPerRequest: 1,
          connectTimeout: 2000,
          enableOfflineQueue: false,
          // Keep trying in the background; requests meanwhile fail fast and fall back.
          retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
        };
  return new Redis(url, { ...options, ...extra, lazyConnect: false });
}
