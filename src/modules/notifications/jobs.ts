import {
  defineJob,
  type JobContext,
  type JobToEnqueue,
  PermanentJobError,
  recurring,
} from '../../jobs/definition.js';
import { runWrite } from '../../unit-of-work.js';
import {
  digestWeekOf,
  digestWeekStarted,
  newArticleBatchBoundaries,
  previousWeekStart,
  queueNewArticleEmailBatch,
  queueWeeklyDigestBatch,
} from './emails.js';
import { articlePublishedJobType, newArticleBatchJobType, weeklyDigestJobType } from './job-types.js';

/**
 * One batch of the new-article fan-out: one unit of work writes the emails to the followers after
 * `after` (up to `upTo`, or the next NOTIFICATION_BATCH_SIZE of them) with their `email.send` jobs,
 * which it hands to the queue after the commit in one round trip; for an open-ended batch that was
 * full, the next batch is enqueued. A batch rerun after a crash only adds the rows that are
 * missing (dedupe keys); the earlier run's jobs are in the outbox.
 */
async function runBatch(
  articleId: number,
  range: { after: number; upTo?: number },
  ctx: JobContext,
): Promise<void> {
  const limit = ctx.config.notificationBatchSize;
  const batch = await runWrite(ctx, (uow) => queueNewArticleEmailBatch(uow, { articleId, ...range, limit }));
  if (batch.next !== null) {
    await ctx.jobs.enqueue(
      newArticleBatchJobType,
      { articleId, after: batch.next },
      { jobId: openBatchJobId(articleId, batch.next) },
    );
  }
  ctx.log.info({ articleId, ...range, emails: batch.emailIds.length, next: batch.next }, 'new-article batch');
}

/** Deterministic job ids: a retried job re-enqueues the same batches, which the queue ignores. */
const openBatchJobId = (articleId: number, after: number) => `new-article-${articleId}-after-${after}`;
const rangeJobId = (articleId: number, after: number, upTo: number) =>
  `new-article-${articleId}-after-${after}-to-${upTo}`;

/**
 * Recorded (outbox) in the transaction that publishes an article, immediately or when its
 * scheduled time comes. Splits the author's followers into batches up front and enqueues all but
 * the first in one round trip, then writes the first. So the batches run in parallel (on every
 * worker slot free), and they are in the queue ahead of the fan-out's own `email.send` jobs: a
 * chain, where each batch enqueues the next after its 500 emails, waits behind those emails on
 * a FIFO queue — 20 batches behind 9,500 SMTP sends for 10,000 followers. The last batch stays
 * open-ended (followers who arrive after the split are emailed by it, or by its continuation).
 */
export const articlePublishedJob = defineJob(articlePublishedJobType, {
  async handle({ articleId }, ctx) {
    const size = ctx.config.notificationBatchSize;
    const boundaries = await newArticleBatchBoundaries(ctx.db, { articleId, size });
    const rest = boundaries.map((after, i): JobToEnqueue<typeof newArticleBatchJobType> => {
      const upTo = boundaries[i + 1];
      return upTo === undefined
        ? { payload: { articleId, after }, options: { jobId: openBatchJobId(articleId, after) } }
        : { payload: { articleId, after, upTo }, options: { jobId: rangeJobId(articleId, after, upTo) } };
    });
    await ctx.jobs.enqueueMany(newArticleBatchJobType, rest);
    await runBatch(articleId, { after: 0, upTo: boundaries[0] }, ctx);
  },
});

/** The other batches of the same fan-out (and the continuations of an open-ended one). */
export const newArticleBatchJob = defineJob(newArticleBatchJobType, {
  handle: ({ articleId, after, upTo }, ctx) => runBatch(articleId, { after, upTo }, ctx),
});

/**
 * The weekly digest. The recurring run (payload `{}`) starts every day but covers the previous
 * Monday-to-Monday week (UTC), and does nothing once that week's digests exist: so the digest goes
 * out once a week, on the first run after Monday 00:00, even when a run was missed (the embedded
 * runner's timers restart with the process). Batches follow the fan-out pattern: each is a unit of
 * work and enqueues the next with a deterministic id; one row per reader and week
 * (`digest:<week>:user:<id>`).
 */
export const weeklyDigestJob = defineJob(weeklyDigestJobType, {
  async handle({ weekOf, after }, ctx) {
    const weekStart = weekOf ? new Date(`${weekOf}T00:00:00Z`) : previousWeekStart(new Date());
    if (Number.isNaN(weekStart.getTime())) throw new PermanentJobError(`weekOf ${weekOf} is not a date`);
    const week = digestWeekOf(weekStart);
    if (after === undefined) {
      // The daily start: hands the week to its first batch, unless the week's batches already ran.
      // The batch is a job of its own (deterministic id), so a crash in it is retried by the queue
      // even though its rows make this check say "started".
      if (await digestWeekStarted(ctx.db, weekStart)) {
        ctx.log.info({ week }, 'weekly digest already sent for this week');
        return;
      }
      await ctx.jobs.enqueue(
        weeklyDigestJobType,
        { weekOf: week, after: 0 },
        { jobId: `weekly-digest-${week}-after-0` },
      );
      return;
    }
    const limit = ctx.config.notificationBatchSize;
    const batch = await runWrite(ctx, (uow) => queueWeeklyDigestBatch(uow, { weekStart, after, limit }));
    if (batch.next !== null) {
      await ctx.jobs.enqueue(
        weeklyDigestJobType,
        { weekOf: week, after: batch.next },
        { jobId: `weekly-digest-${week}-after-${batch.next}` },
      );
    }
    ctx.log.info({ week, after, emails: batch.emailIds.length, next: batch.next }, 'weekly digest batch');
  },
});

// Daily, but each week's digest goes out once (see the handler): a missed run is made up.
export const weeklyDigestSchedule = recurring({
  id: 'weekly-digest',
  type: weeklyDigestJobType,
  payload: {},
  everyMs: () => 24 * 3600_000,
});
