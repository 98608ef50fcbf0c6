import { existsSync } from 'node:fs';
import { describe } from 'vitest';
import { reachable } from './reachable.js';

/** Set by CI: a missing service fails the run instead of skipping. */
export const requireServices = process.env.REQUIRE_SERVICES === '1';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

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

/** Debian's Chromium (`apt-get install chromium`), driven by playwright-core in the browser test. */
export const CHROMIUM_PATH = '/usr/bin/chromium';
export const chromiumAvailable = existsSync(CHROMIUM_PATH);

if (!chromiumAvailable && !requireServices) {
  console.warn(
    `\n!!! SKIPPING browser suites: no ${CHROMIUM_PATH} (apt-get install chromium; REQUIRE_SERVICES=1 fails instead)\n`,
  );
}

/** `describe` for suites that drive a real browser: skipped loudly without Chromium. */
export const describeWithChromium: typeof describe =
  chromiumAvailable || requireServices ? describe : (describe.skip as typeof describe);
