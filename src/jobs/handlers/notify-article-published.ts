import { queueNewArticleEmailBatch } from '../../modules/notifications/emails.js';
import { defineJob, type JobContext } from '../definition.js';
import { enqueueEmailSendJobs } from './email-send.js';

/**
 * One batch of the new-article fan-out: emails the followers after `after`, hands each email to
 * `email.send` (one round trip for the batch), then enqueues the next batch. The continuation's id is deterministic (article and
 * cursor), so a retried batch never forks the chain, and a batch rerun after a crash only adds
 * the rows that are missing (dedupe keys) and re-enqueues the unsent ones (no-op job ids).
 */
async function runBatch(articleId: number, after: number, ctx: JobContext): Promise<void> {
  const limit = ctx.config.notificationBatchSize;
  const batch = await queueNewArticleEmailBatch(ctx.db, ctx.config, { articleId, after, limit });
  await enqueueEmailSendJobs(ctx.jobs, batch.emailIds);
  if (batch.next !== null) {
    await ctx.jobs.enqueue(
      'notifications.new-article-batch',
      { articleId, after: batch.next },
      { jobId: `new-article-${articleId}-after-${batch.next}` },
    );
  }
  ctx.log.info({ articleId, after, emails: batch.emailIds.length, next: batch.next }, 'new-article batch');
}

/**
 * Recorded (outbox) in the transaction that publishes an article, immediately or when its
 * scheduled time comes: the first batch of the followers' emails.
 */
export const articlePublishedJob = defineJob({
  name: 'notifications.article-published',
  handle: ({ articleId }, ctx) => runBatch(articleId, 0, ctx),
});

/** The following batches of the same fan-out. */
export const newArticleBatchJob = defineJob({
  name: 'notifications.new-article-batch',
  handle: ({ articleId, after }, ctx) => runBatch(articleId, after, ctx),
});
