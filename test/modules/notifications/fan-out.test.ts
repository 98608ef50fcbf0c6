import type { Job, Queue } from 'bullmq';
import { eq, inArray, like } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { articles, emailLog, follows } from '../../../src/db/schema.js';
import type { JobEnvelope } from '../../../src/jobs/runner.js';
import { jobDefinitions } from '../../../src/jobs-registry.js';
import { updatePreferences } from '../../../src/modules/notifications/service.js';
import { createTestApp, type TestApp } from '../../support/app.js';
import { describeWithRedis, TEST_REDIS_URL } from '../../support/services.js';
import { insertUser, type TestUser } from '../../support/users.js';

/**
 * The new-article fan-out on the real BullMQ queue, with no worker: the test takes each job off
 * the queue in the order a worker would and runs its handler, so what every step queued (and in
 * which order) can be read from Redis.
 */
describeWithRedis('new-article fan-out on BullMQ', () => {
  let t: TestApp;
  let queue: Queue<JobEnvelope>;
  const log = pino({ level: 'silent' });

  beforeAll(async () => {
    t = await createTestApp({
      REDIS_URL: TEST_REDIS_URL,
      RUN_JOBS_IN_API: 'false',
      NOTIFICATION_BATCH_SIZE: '2',
    });
    const bullmq = t.deps.jobs.bullmq;
    if (!bullmq) throw new Error('no BullMQ queue');
    queue = bullmq.queue;
  });
  afterAll(() => t?.close());
  beforeEach(() => queue.drain(true));

  /** Waiting jobs in the order a worker takes them (oldest first). */
  const waiting = () => queue.getJobs(['wait'], 0, -1, true) as Promise<Job<JobEnvelope>[]>;

  /** What a worker does with the job, minus the queue's bookkeeping: runs its handler. */
  async function handle(job: Job<JobEnvelope>): Promise<void> {
    const definition = jobDefinitions.find((candidate) => candidate.type.name === job.name);
    if (!definition) throw new Error(`no handler for ${job.name}`);
    await definition.handle(job.data.payload as never, {
      jobId: job.id ?? '',
      attempt: 1,
      maxAttempts: 1,
      db: t.deps.database.db,
      config: t.config,
      log,
      jobs: t.deps.jobs,
      mailer: t.deps.mailer,
      cache: t.deps.cache,
    });
  }

  /** Runs the job, then takes it off the queue, as a worker that completed it. */
  async function run(job: Job<JobEnvelope>): Promise<void> {
    await handle(job);
    await job.remove();
  }

  async function takeFirst(name: string): Promise<Job<JobEnvelope>> {
    const job = (await waiting()).find((candidate) => candidate.name === name);
    if (!job) throw new Error(`no waiting ${name} job`);
    return job;
  }

  /** Followers straight into the table: following through the API would queue emails of its own. */
  async function follow(author: TestUser, ...followers: TestUser[]): Promise<void> {
    await t.deps.database.db
      .insert(follows)
      .values(followers.map((follower) => ({ followerId: follower.id, followingId: author.id })));
  }

  async function publish(author: TestUser): Promise<{ id: number }> {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/articles',
      headers: author.headers,
      payload: { article: { title: `Fan-out ${author.username}`, description: 'd', body: 'b' } },
    });
    expect(res.statusCode).toBe(201);
    const [row] = await t.deps.database.db
      .select({ id: articles.id })
      .from(articles)
      .where(eq(articles.slug, res.json().article.slug));
    if (!row) throw new Error('no article');
    return row;
  }

  /** The users the queued send jobs go to (`email.send`: one, `email.send-batch`: several), one entry per email. */
  async function recipientsOfQueuedSends(): Promise<number[]> {
    const emailIds = (await waiting()).flatMap((job) => {
      if (job.name === 'email.send') return [(job.data.payload as { emailId: number }).emailId];
      if (job.name === 'email.send-batch') return (job.data.payload as { emailIds: number[] }).emailIds;
      return [];
    });
    if (emailIds.length === 0) return [];
    const rows = await t.deps.database.db
      .select({ id: emailLog.id, userId: emailLog.userId })
      .from(emailLog)
      .where(inArray(emailLog.id, emailIds));
    const userOf = new Map(rows.map((row) => [row.id, row.userId]));
    return emailIds.map((id) => userOf.get(id) ?? 0).sort((a, b) => a - b);
  }

  /** One after the other, so their ids ascend in this order. */
  async function people(n: number): Promise<TestUser[]> {
    const created: TestUser[] = [];
    for (let i = 0; i < n; i++) created.push(await insertUser(t));
    return created;
  }

  it('the first job queues every other batch ahead of its own emails; each follower gets one, a late one too', async () => {
    const [author] = await people(1);
    if (!author) throw new Error('no author');
    // Six followers in id order, batches of two: (0, f2] by the first job, (f2, m], (m, f5], (f5, …).
    const [f1, f2, f3, muted, f4, f5] = await people(6);
    if (!f1 || !f2 || !f3 || !muted || !f4 || !f5) throw new Error('no followers');
    await follow(author, f1, f2, f3, muted, f4, f5);
    await updatePreferences(t.deps.database.db, muted.id, { newArticle: false });
    const article = await publish(author);

    await run(await takeFirst('notifications.article-published'));
    const queued = await waiting();
    expect(queued.map((job) => job.name)).toEqual([
      'notifications.new-article-batch',
      'notifications.new-article-batch',
      'notifications.new-article-batch',
      // The first batch's two emails: one job.
      'email.send-batch',
    ]);
    expect(queued.slice(0, 3).map((job) => job.id)).toEqual([
      `new-article-${article.id}-after-${f2.id}-to-${muted.id}`,
      `new-article-${article.id}-after-${muted.id}-to-${f5.id}`,
      `new-article-${article.id}-after-${f5.id}`,
    ]);
    expect(await recipientsOfQueuedSends()).toEqual([f1.id, f2.id]);

    // Follows after the split: the open-ended last batch finds them.
    const [late] = await people(1);
    if (!late) throw new Error('no late follower');
    await follow(author, late);
    for (;;) {
      const batch = (await waiting()).find((job) => job.name === 'notifications.new-article-batch');
      if (!batch) break;
      await run(batch);
    }
    expect(await recipientsOfQueuedSends()).toEqual([f1.id, f2.id, f3.id, f4.id, f5.id, late.id]);
    const rows = await t.deps.database.db
      .select({ id: emailLog.id })
      .from(emailLog)
      .where(like(emailLog.dedupeKey, `article:${article.id}:user:%`));
    expect(rows).toHaveLength(6);
  });

  it('a first job that runs again (a retry) queues no batch and no email twice', async () => {
    const [author, ...followers] = await people(4);
    if (!author) throw new Error('no author');
    await follow(author, ...followers);
    const article = await publish(author);
    const first = await takeFirst('notifications.article-published');
    await handle(first);
    await run(first);

    const queued = await waiting();
    expect(
      queued.filter((job) => job.name === 'notifications.new-article-batch').map((job) => job.id),
    ).toEqual([`new-article-${article.id}-after-${followers[1]?.id}`]);
    expect(await recipientsOfQueuedSends()).toEqual(followers.slice(0, 2).map((f) => f.id));
  });
});
