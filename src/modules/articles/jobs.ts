import { sql } from 'drizzle-orm';
import { defineJob, recurring } from '../../jobs/definition.js';
import { runWrite } from '../../unit-of-work.js';
import { compactCountsJobType, publishArticleJobType, publishDueArticlesJobType } from './job-types.js';
import { isAlmostDue, publishArticleIfDue, publishDueBatch } from './publishing.js';

/**
 * The delayed job of a scheduled article: publishes it if it is still scheduled and due, as one
 * unit of work (its follow-up recorded, what everyone sees invalidated). Idempotent: after a
 * reschedule, an early publish, a delete or a replay it finds nothing and does nothing.
 */
export const publishArticleJob = defineJob(publishArticleJobType, {
  async handle({ articleId }, ctx) {
    const published = await runWrite(ctx, (uow) => publishArticleIfDue(uow, articleId));
    if (published) {
      ctx.log.info({ articleId, slug: published.slug }, 'scheduled article published');
      return;
    }
    if (await isAlmostDue(ctx.db, articleId)) {
      throw new Error(`article ${articleId} is not due yet (the job ran early); retrying`);
    }
    ctx.log.info({ articleId }, 'nothing to publish (rescheduled, already published or deleted)');
  },
});

/**
 * The safety net of scheduled publishing (every minute): publishes every article whose time has
 * passed but whose delayed job was lost, with the same follow-up as the job, a batch per unit of
 * work.
 */
export const publishDueArticlesJob = defineJob(publishDueArticlesJobType, {
  // The next scheduled run is the retry.
  attempts: 1,
  async handle(_payload, ctx) {
    let total = 0;
    for (let more = true; more; ) {
      const batch = await runWrite(ctx, publishDueBatch);
      total += batch.published.length;
      more = batch.more;
    }
    if (total > 0) ctx.log.info({ published: total }, 'due sweep published scheduled articles');
  },
});

export const publishDueArticlesSchedule = recurring({
  id: 'publish-due-articles',
  type: publishDueArticlesJobType,
  payload: {},
  // Scheduled publishing is minute-accurate even when a delayed publish job was lost.
  everyMs: () => 60_000,
});

/**
 * Keeps each article counter's shards few: a counter gains a shard per database backend that
 * moves it, and a list reads all of them (migrations/0009_…). Never waits for a writer.
 */
export const compactCountsJob = defineJob(compactCountsJobType, {
  // The next scheduled run is the retry.
  attempts: 1,
  async handle(_payload, ctx) {
    const result = (await ctx.db.execute(sql`select article_counts_compact() as folded`)) as {
      rows: { folded: number }[];
    };
    ctx.log.debug({ folded: result.rows[0]?.folded }, 'article counter shards compacted');
  },
});

export const compactCountsSchedule = recurring({
  id: 'compact-article-counts',
  type: compactCountsJobType,
  payload: {},
  everyMs: () => 10 * 60_000,
});
