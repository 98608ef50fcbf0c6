import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { eq } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { jobOutbox } from '../../src/db/schema.js';
import type { TestApp } from '../support/app.js';
import { TEST_REDIS_URL } from '../support/services.js';

/** Deletes every Redis key of the test's queue prefix (tests share one Redis; never FLUSHDB). */
export async function removeQueueKeys(prefix: string): Promise<void> {
  const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      if (keys.length > 0) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Polls until `probe` returns a value (not undefined/false), or fails naming what it waited for. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

export function uniqueKey(label: string): string {
  return `${label}-${randomBytes(4).toString('hex')}`;
}

export async function outboxRow(t: TestApp, id: string) {
  const [row] = await t.deps.database.db.select().from(jobOutbox).where(eq(jobOutbox.id, id));
  if (!row) throw new Error(`no outbox row ${id}`);
  return row;
}

/** Waits until the outbox row reaches a final status. */
export function settledRow(t: TestApp, id: string, timeoutMs?: number) {
  return waitFor(
    `outbox row ${id} to be done or failed`,
    async () => {
      const row = await outboxRow(t, id);
      return row.status === 'done' || row.status === 'failed' ? row : undefined;
    },
    timeoutMs,
  );
}

/** The lines the probe job wrote for `key` (one line = its effect applied once). */
export function probeEffects(dataDir: string, key: string): string[] {
  const file = path.join(dataDir, 'job-probes', key);
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}
