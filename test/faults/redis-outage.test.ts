import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { jobOutbox } from '../../src/db/schema.js';
import { emailRowsTo, waitForEmailRows } from '../email/wait.js';
import { removeQueueKeys, settledRow, waitFor } from '../jobs/support.js';
import { createTestApp, type TestApp, testDatabaseKind } from '../support/app.js';
import { type InboxServer, startInboxServer } from '../support/inbox.js';
import { describeWithRedis, TEST_REDIS_URL } from '../support/services.js';
import { proxyTo } from '../support/tcp-proxy.js';
import { insertUser } from '../support/users.js';
import { startWorkerFor, type WorkerProcess } from '../worker/process.js';
import { FAULT_JOBS_ENV } from './support.js';

/**
 * Redis goes away under a running API and worker (a TCP proxy in front of the shared test Redis
 * is cut, so the server others use is never stopped) and comes back.
 */
describeWithRedis.runIf(testDatabaseKind === 'postgres')('Redis gone and back', () => {
  const proxy = proxyTo(TEST_REDIS_URL);
  const prefix = `faults-redis-${randomBytes(4).toString('hex')}`;
  let mail: InboxServer;
  let t: TestApp;
  let worker: WorkerProcess | undefined;

  beforeAll(async () => {
    await proxy.start();
    mail = await startInboxServer();
    const env = {
      ...FAULT_JOBS_ENV,
      SMTP_URL: mail.url,
      REDIS_URL: proxy.urlFor(TEST_REDIS_URL),
      QUEUE_PREFIX: prefix,
    };
    // Jobs, response cache and rate-limit counters all live behind the proxy.
    t = await createTestApp({
      ...env,
      RUN_JOBS_IN_API: 'false',
      RATE_LIMIT_KEY_PREFIX: `${prefix}:rate-limit:`,
    });
    worker = await startWorkerFor(t, env);
  });
  afterAll(async () => {
    await proxy.start();
    if (worker && worker.child.exitCode === null && worker.child.signalCode === null) worker.kill('SIGKILL');
    await worker?.exited;
    await t?.close();
    await mail?.close();
    await proxy.refuse();
    await removeQueueKeys(prefix);
  });

  it('requests (writes too) still answer, the outbox and the email log keep the work, and it is done once Redis is back', async () => {
    const [authorInbox, followerInbox] = [mail.createInbox(), mail.createInbox()];
    const author = await insertUser(t, { email: authorInbox.emailAddress });
    const follower = await insertUser(t, { email: followerInbox.emailAddress });
    const newcomer = mail.createInbox();

    await proxy.refuse();
    const slowest: number[] = [];
    const timed = async (request: InjectOptions) => {
      const started = performance.now();
      const res = await t.app.inject(request);
      slowest.push(performance.now() - started);
      return res;
    };
    // A read, a sign-up (verification email), a follow (email to the followee) and an article
    // (the fan-out job, recorded in the outbox), all while nothing answers on the Redis port.
    expect((await timed({ method: 'GET', url: '/api/articles' })).statusCode).toBe(200);
    const signup = await timed({
      method: 'POST',
      url: '/api/users',
      payload: {
        user: {
          username: `newcomer_${newcomer.id}`,
          email: newcomer.emailAddress,
          password: 'a long passphrase',
        },
      },
    });
    expect(signup.statusCode).toBe(201);
    const follow = await timed({
      method: 'POST',
      url: `/api/profiles/${author.username}/follow`,
      headers: follower.headers,
    });
    expect(follow.statusCode).toBe(200);
    const created = await timed({
      method: 'POST',
      url: '/api/articles',
      headers: author.headers,
      payload: { article: { title: `Written while Redis was down ${prefix}`, description: 'd', body: 'b' } },
    });
    expect(created.statusCode).toBe(201);
    expect(
      (await timed({ method: 'GET', url: `/api/articles/${created.json().article.slug}` })).statusCode,
    ).toBe(200);
    console.info(`redis outage: slowest request ${Math.round(Math.max(...slowest))} ms`);
    expect(Math.max(...slowest)).toBeLessThan(3000);

    // What an operator sees: readiness names Redis (and the queue) down, and stays 200 (degraded):
    // the instance still answers, so a load balancer must not take it out.
    const ready = await t.app.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json().status).toBe('degraded');
    expect(ready.json().checks).toMatchObject({
      redis: { status: 'down' },
      jobs: { status: 'down', error: expect.stringMatching(/^Redis is not connected/) },
      cache: { status: 'up', detail: { state: 'bypass' } },
    });
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toMatch(/^conduit_jobs_queue_up 0$/m);

    // The work is in PostgreSQL, waiting: the fan-out job pending in the outbox, the emails queued.
    const [fanOut] = await t.deps.database.db
      .select()
      .from(jobOutbox)
      .where(eq(jobOutbox.name, 'notifications.article-published'));
    expect(fanOut).toMatchObject({ status: 'pending', attempts: 0 });
    const waiting = [
      ...(await emailRowsTo(t.deps.database.db, newcomer.emailAddress)),
      ...(await emailRowsTo(t.deps.database.db, author.email)),
    ];
    expect(waiting.map((row) => [row.template, row.status, row.attempts])).toEqual([
      ['verify-email', 'queued', 0],
      ['new-follower', 'queued', 0],
    ]);

    await proxy.start();
    // The sweeps of the (reconnected) worker enqueue what the requests could not.
    expect((await settledRow(t, fanOut?.id ?? '', 30_000)).status).toBe('done');
    const verification = await mail.waitForLatestEmail(newcomer, 30_000);
    expect(verification.subject).toBe('Confirm your email address');
    expect((await mail.waitForLatestEmail(authorInbox, 30_000)).subject).toContain('is now following you');
    expect((await mail.waitForLatestEmail(followerInbox, 30_000)).subject).toContain(
      'Written while Redis was down',
    );
    const rows = await waitForEmailRows(
      t.deps.database.db,
      [
        ...waiting.map((row) => row.id),
        ...(await emailRowsTo(t.deps.database.db, follower.email)).map((row) => row.id),
      ],
      { timeoutMs: 10_000 },
    );
    expect(rows.map((row) => row.status)).toEqual(['sent', 'sent', 'sent']);
    for (const inbox of [newcomer, authorInbox, followerInbox]) expect(mail.emails(inbox)).toHaveLength(1);
    await waitFor(
      'readiness back',
      async () => (await t.app.inject({ method: 'GET', url: '/health/ready' })).statusCode === 200,
      10_000,
    );
    // The worker says why it was idle (one warning per failed reconnect), and rode it out in place.
    expect(
      worker?.lines.some(
        (line) => line.msg === 'job worker error' && /ECONNREFUSED/.test(String(line.error)),
      ),
    ).toBe(true);
    expect(worker?.child.exitCode).toBeNull();
  }, 90_000);
});
