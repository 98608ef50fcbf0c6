import { cacheWrites } from '../../cache/namespaces.js';
import { publishDueArticles } from '../../modules/articles/publishing.js';
import { defineJob } from '../definition.js';

/**
 * The safety net of scheduled publishing (every minute): publishes every article whose time has
 * passed but whose delayed job was lost, with the same follow-up as the job.
 */
export const publishDueArticlesJob = defineJob({
  name: 'articles.publish-due',
  // The next scheduled run is the retry.
  attempts: 1,
  async handle(_payload, { db, jobs, cache, log }) {
    const published = await publishDueArticles(db);
    if (published.length === 0) return;
    // One invalidation for the shared lists and tags, plus each article's own entry.
    await cache.invalidate([...new Set(published.flatMap(({ slug }) => cacheWrites.articlePublished(slug)))]);
    await jobs.flush(published.flatMap(({ outboxIds }) => outboxIds));
    log.info({ published: published.length }, 'due sweep published scheduled articles');
  },
});
