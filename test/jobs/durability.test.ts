import { afterAll, beforeAll, expect, it } from 'vitest';
import { recordJob } from '../../src/jobs/outbox.js';
import { probeJobType } from '../../src/jobs/system-jobs.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { describeWithRedis, TEST_REDIS_URL } from '../support/services.js';
import { proxyTo } from '../support/tcp-proxy.js';
import { FAST_JOBS_ENV } from './contract.js';
import { outboxRow, probeEffects, removeQueueKeys, settledRow, uniqueKey } from './support.js';

describeWithRedis('work recorded while Redis is down', () => {
  let t: TestApp;
  const proxy = proxyTo(TEST_REDIS_URL);
  const prefix = uniqueKey('durability');

  beforeAll(async () => {
    await proxy.start();
    t = await createTestApp({
      ...FAST_JOBS_ENV,
      REDIS_URL: proxy.urlFor(TEST_REDIS_URL),
      QUEUE_PREFIX: prefix,
      RUN_JOBS_IN_API: 'true',
    });
  });
  afterAll(async () => {
    await proxy.start();
    await t?.close();
    await proxy.refuse();
    await removeQueueKeys(prefix);
  });

  it('is kept by the outbox, not lost, and runs once Redis is back', async () => {
    await proxy.refuse();
    // Two rows of one transaction, flushed together (one bulk enqueue).
    const keys = [uniqueKey('outage'), uniqueKey('outage')];
    const ids = await t.deps.database.db.transaction(async (tx) => [
      await recordJob(tx, probeJobType, { key: keys[0] ?? '' }),
      await recordJob(tx, probeJobType, { key: keys[1] ?? '' }),
    ]);
    // The request's enqueue fails (quickly, without throwing); the committed rows stay pending.
    await t.deps.jobs.flush(ids);
    for (const id of ids) expect(await outboxRow(t, id)).toMatchObject({ status: 'pending', attempts: 0 });

    await proxy.start();
    for (const [i, id] of ids.entries()) {
      const row = await settledRow(t, id, 20_000);
      expect(row).toMatchObject({ status: 'done', attempts: 1 });
      expect(probeEffects(t.dataDir, keys[i] ?? '')).toEqual([id]);
    }
  }, 30_000);
});
