import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { removeQueueKeys, waitFor } from '../jobs/support.js';
import { createTestApp, type TestApp, testDatabaseKind } from '../support/app.js';
import { describeWithRedis, TEST_REDIS_URL } from '../support/services.js';
import { insertUser } from '../support/users.js';
import { startWorkerFor, type WorkerProcess } from './process.js';

// Production layout: the API only records and enqueues, a separate worker process (BullMQ on the
// real Redis) publishes, and both share PostgreSQL and the Redis response cache.
describeWithRedis.runIf(testDatabaseKind === 'postgres')('scheduled publishing with a worker process', () => {
  let t: TestApp;
  let worker: WorkerProcess | undefined;
  const prefix = `sched-${randomBytes(4).toString('hex')}`;
  const cachePrefix = `test:sched:${randomBytes(6).toString('hex')}:`;

  beforeAll(async () => {
    t = await createTestApp({
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: prefix,
      CACHE_KEY_PREFIX: cachePrefix,
      RUN_JOBS_IN_API: 'false',
    });
  });
  afterAll(async () => {
    if (worker && worker.child.exitCode === null && worker.child.signalCode === null) {
      worker.kill('SIGTERM');
      await worker.exited;
    }
    await t?.close();
    await removeQueueKeys(prefix);
  });

  it('a worker publishes the article on time and the API’s cached list shows it at once', async () => {
    worker = await startWorkerFor(t, { QUEUE_PREFIX: prefix, CACHE_KEY_PREFIX: cachePrefix });
    const running = worker;

    const author = await insertUser(t);
    const list = async () => {
      const res = await t.app.inject({ method: 'GET', url: '/api/articles' });
      return {
        cache: res.headers['x-cache'],
        slugs: res.json().articles.map((a: { slug: string }) => a.slug),
      };
    };
    const publishAt = new Date(Date.now() + 1500).toISOString();
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/articles',
      headers: author.headers,
      payload: { article: { title: 'Worker scheduled', description: 'd', body: 'b', publishAt } },
    });
    expect(created.statusCode, created.body).toBe(201);
    const { slug } = created.json().article;
    // Cached in Redis while still scheduled: only the worker's invalidation can make it show.
    expect((await list()).slugs).not.toContain(slug);
    expect((await list()).cache).toBe('HIT');

    const article = await waitFor(
      'the worker to publish the article',
      async () => {
        const res = await t.app.inject({ method: 'GET', url: `/api/articles/${slug}` });
        return res.statusCode === 200 ? res.json().article : undefined;
      },
      20_000,
    );
    expect(Date.parse(article.publishedAt)).toBeGreaterThanOrEqual(Date.parse(publishAt));
    // The job invalidates right after its commit: once it has completed, the cached list shows the
    // article (the article itself can be read from the database a moment earlier).
    await waitFor('the publish job log line', () =>
      running.lines.some((line) => line.job === 'articles.publish' && line.outcome === 'completed'),
    );
    expect((await list()).slugs[0]).toBe(slug);
  });
});
