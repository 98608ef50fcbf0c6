import { Socket } from 'node:net';
import { describe } from 'vitest';

/** Set by CI: a missing service fails the run instead of skipping. */
export const requireServices = process.env.REQUIRE_SERVICES === '1';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

function reachable(url: string, defaultPort: number): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(1000);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
    socket.connect(Number(port || defaultPort), hostname);
  });
}

export const redisAvailable = await reachable(TEST_REDIS_URL, 6379);

if (!redisAvailable && !requireServices) {
  console.warn(
    `\n!!! SKIPPING Redis suites: nothing answers at ${TEST_REDIS_URL} (REQUIRE_SERVICES=1 fails instead)\n`,
  );
}

/**
 * `describe` for suites that need a real Redis: skipped loudly when it is missing, run (and so
 * failing) under REQUIRE_SERVICES=1.
 */
export const describeWithRedis: typeof describe =
  redisAvailable || requireServices ? describe : (describe.skip as typeof describe);
