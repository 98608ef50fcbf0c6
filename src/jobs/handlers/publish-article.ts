import { cacheWrites } from '../../cache/namespaces.js';
import { publishArticleIfDue } from '../../modules/articles/publishing.js';
import { defineJob } from '../definition.js';

/**
 * The delayed job of a scheduled article: publishes it if it is still scheduled and due, then
 * enqueues the follow-up recorded with it and invalidates what everyone sees. Idempotent: after a
 * reschedule, an early publish, a delete or a replay it finds nothing and does nothing.
 */
export const publishArticleJob = defineJob({
  name: 'articles.publish',
  async handle({ articleId }, { db, jobs, cache, log }) {
    const published = await publishArticleIfDue(db, articleId);
    if (!published) {
      log.info({ articleId }, 'nothing to publish (rescheduled, already published or deleted)');
      return;
    }
    await cache.invalidate(cacheWrites.articlePublished(published.slug));
    await jobs.flush(published.outboxIds);
    log.info({ articleId, slug: published.slug }, 'scheduled article published');
  },
});
