import { Type } from 'typebox';
import { jobType } from '../../jobs/definition.js';

/** Publishes one scheduled article once its `publish_at` has passed (delayed; idempotent). */
export const publishArticleJobType = jobType(
  'articles.publish',
  Type.Object({ articleId: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }),
);

/** Publishes every scheduled article that is due (every minute): catches lost publish jobs. */
export const publishDueArticlesJobType = jobType(
  'articles.publish-due',
  Type.Object({}, { additionalProperties: false }),
);

/** Folds the article counters' idle shards into one (every 10 minutes; see articleCountShards). */
export const compactCountsJobType = jobType(
  'articles.compact-counts',
  Type.Object({}, { additionalProperties: false }),
);
