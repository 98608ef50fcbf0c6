import { afterAll, beforeAll, expect, it } from 'vitest';
import { recordJob } from '../../src/jobs/outbox.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { describeWithRedis, TEST_REDIS_URL } from '../support/services.js';
import { FAST_JOBS_ENV } from './contract.js';
import { RedisProxy } from './redis-proxy.js';
import { outboxRow, probeEffects, removeQueueKeys, settledRow, uniqueKey } from './support.js';

describeWithRedis('work recorded while Redis is down', () => {
  let t: TestApp;
  const proxy = new RedisProxy(new URL(TEST_REDIS_URL));
  const prefix = uniqueKey('durability');

  beforeAll(async () => {
    await proxy.start();
    t = await createTestApp({
      ...FAST_JOBS_ENV,
      REDIS_URL: proxy.url,
      QUEUE_PREFIX: prefix,
      RUN_JOBS_IN_API: 'true',
    });
  });
  afterAll(async () => {
    await proxy.start();
    await t?.close();
    await proxy.stop();
    await removeQueueKeys(prefix);
  });

  it('is kept by the outbox, not lost, and runs once Redis is back', async () => {
    await proxy.stop();
    const key = uniqueKey('outage');
    const id = await t.deps.database.db.transaction((tx) => recordJob(tx, 'system.probe', { key }));
    // The request's enqueue fails (quickly, without throwing); the committed row stays pending.
    await t.deps.jobs.flush([id]);
    expect(await outboxRow(t, id)).toMatchObject({ status: 'pending', attempts: 0 });

    await proxy.start();
    const row = await settledRow(t, id, 20_000);
    expect(row).toMatchObject({ status: 'done', attempts: 1 });
    expect(probeEffects(t.dataDir, key)).toEqual([id]);
  }, 30_000);
});
