import type { Redis } from 'ioredis';
import { createRedis } from '../redis.js';

/** How long the start-up check may take before it reports "unknown". */
const CHECK_TIMEOUT_MS = 2000;

async function configGet(redis: Redis): Promise<'on' | 'off' | undefined> {
  // ioredis answers CONFIG GET with [name, value] (empty when the setting is unknown).
  const [, value] = (await redis.config('GET', 'appendonly')) as string[];
  if (value === undefined) return undefined;
  return value === 'yes' ? 'on' : 'off';
}

async function infoPersistence(redis: Redis): Promise<'on' | 'off' | undefined> {
  const enabled = /^aof_enabled:(\d)/m.exec(await redis.info('persistence'))?.[1];
  if (enabled === undefined) return undefined;
  return enabled === '1' ? 'on' : 'off';
}

/**
 * Whether Redis writes its append-only file: without it a Redis restart loses the jobs queued
 * since the last snapshot. Asks `CONFIG GET appendonly`, then `INFO persistence` (managed Redis
 * often refuses CONFIG); `undefined` when neither answers. Never throws.
 */
export async function appendOnlyPersistence(redisUrl: string): Promise<'on' | 'off' | undefined> {
  const redis = createRedis(redisUrl, 'conduit-worker-check', 'request', { enableOfflineQueue: true });
  redis.on('error', () => {});
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), CHECK_TIMEOUT_MS);
  });
  const check = async () =>
    (await configGet(redis).catch(() => undefined)) ?? (await infoPersistence(redis).catch(() => undefined));
  try {
    return await Promise.race([check(), timeout]);
  } finally {
    clearTimeout(timer);
    redis.disconnect();
  }
}
