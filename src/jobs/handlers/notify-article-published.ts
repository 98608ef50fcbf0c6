import { enqueueEmailSends } from '../../email/dispatch.js';
import { newArticleBatchBoundaries, queueNewArticleEmailBatch } from '../../modules/notifications/emails.js';
import { defineJob, type JobContext, type JobToEnqueue } from '../definition.js';

/**
 * One batch of the new-article fan-out: emails the followers after `after` (up to `upTo`, or the
 * next NOTIFICATION_BATCH_SIZE of them), hands each email to `email.send` in one round trip, and,
 * for an open-ended batch that was full, enqueues the next one. A batch rerun after a crash only
 * adds the rows that are missing (dedupe keys) and re-enqueues the unsent ones (no-op job ids).
 */
async function runBatch(
  articleId: number,
  range: { after: number; upTo?: number },
  ctx: JobContext,
): Promise<void> {
  const limit = ctx.config.notificationBatchSize;
  const batch = await queueNewArticleEmailBatch(ctx.db, ctx.config, { articleId, ...range, limit });
  await enqueueEmailSends(ctx.jobs, batch.emailIds);
  if (batch.next !== null) {
    await ctx.jobs.enqueue(
      'notifications.new-article-batch',
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
export const articlePublishedJob = defineJob({
  name: 'notifications.article-published',
  async handle({ articleId }, ctx) {
    const size = ctx.config.notificationBatchSize;
    const boundaries = await newArticleBatchBoundaries(ctx.db, { articleId, size });
    const rest = boundaries.map((after, i): JobToEnqueue<'notifications.new-article-batch'> => {
      const upTo = boundaries[i + 1];
      return upTo === undefined
        ? { payload: { articleId, after }, options: { jobId: openBatchJobId(articleId, after) } }
        : { payload: { articleId, after, upTo }, options: { jobId: rangeJobId(articleId, after, upTo) } };
    });
    await ctx.jobs.enqueueMany('notifications.new-article-batch', rest);
    await runBatch(articleId, { after: 0, upTo: boundaries[0] }, ctx);
  },
});

/** The other batches of the same fan-out (and the continuations of an open-ended one). */
export const newArticleBatchJob = defineJob({
  name: 'notifications.new-article-batch',
  handle: ({ articleId, after, upTo }, ctx) => runBatch(articleId, { after, upTo }, ctx),
});
