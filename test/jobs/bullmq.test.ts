import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { probeJobType } from '../../src/jobs/system-jobs.js';
import { recurringJobs } from '../../src/jobs-registry.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { describeWithRedis, TEST_REDIS_URL } from '../support/services.js';
import { queueContract } from './contract.js';
import { removeQueueKeys, uniqueKey } from './support.js';

describeWithRedis('BullMQ adapter', () => {
  // Same process, real Redis: the app enqueues and its own BullMQ worker runs the jobs.
  queueContract('bullmq', () => ({
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: uniqueKey('contract'),
    RUN_JOBS_IN_API: 'true',
  }));
});

describeWithRedis('a test app without QUEUE_PREFIX', () => {
  it('gets a queue prefix of its own and leaves no key behind', async () => {
    const t = await createTestApp({ REDIS_URL: TEST_REDIS_URL, RUN_JOBS_IN_API: 'true' });
    const prefix = t.config.jobs.queuePrefix;
    expect(prefix).toMatch(/^conduit-test-[0-9a-f]{8}$/);
    await t.deps.jobs.enqueue(
      probeJobType,
      { key: uniqueKey('left') },
      { runAt: new Date(Date.now() + 60_000) },
    );
    const redis = t.deps.redis;
    expect((await redis?.keys(`${prefix}:*`))?.length).toBeGreaterThan(0);
    const check = new Redis(TEST_REDIS_URL);
    try {
      await t.close();
      expect(await check.keys(`${prefix}:*`)).toEqual([]);
    } finally {
      check.disconnect();
    }
  });
});

describeWithRedis('BullMQ job schedulers', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: uniqueKey('schedulers'),
      RUN_JOBS_IN_API: 'true',
    });
  });
  afterAll(async () => {
    await t?.close();
    await removeQueueKeys(t.config.jobs.queuePrefix);
  });

  it('defines the recurring jobs as BullMQ job schedulers', async () => {
    const schedulers = await t.deps.jobs.bullmq?.queue.getJobSchedulers();
    expect(
      schedulers
        ?.map(({ key, name, every }) => ({ key, name, every }))
        .sort((a, b) => a.key.localeCompare(b.key)),
    ).toEqual(
      recurringJobs
        .map(({ id, type, everyMs }) => ({ key: id, name: type.name, every: everyMs(t.config) }))
        .sort((a, b) => a.key.localeCompare(b.key)),
    );
    // The two the jobs module itself relies on, by value (the list above comes from the registry).
    expect(schedulers).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ key: 'outbox-sweep', name: 'system.outbox-sweep', every: 60_000 }),
        expect.objectContaining({ key: 'publish-due-articles', name: 'articles.publish-due', every: 60_000 }),
      ]),
    );
  });

  it('drops a recurring job a previous deploy defined and this one does not', async () => {
    const t = await createTestApp({ REDIS_URL: TEST_REDIS_URL, RUN_JOBS_IN_API: 'false' });
    try {
      const queue = t.deps.jobs.bullmq?.queue;
      if (!queue) throw new Error('no BullMQ queue');
      await queue.upsertJobScheduler(
        'email-sweep',
        { every: 60_000 },
        { name: 'email.sweep', data: { payload: {} } },
      );
      await t.deps.jobs.startProcessing();
      const keys = (await queue.getJobSchedulers()).map((scheduler) => scheduler.key).sort();
      expect(keys).toEqual(recurringJobs.map(({ id }) => id).sort());
    } finally {
      await t.close();
    }
  });
});
