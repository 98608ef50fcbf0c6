import { Type } from 'typebox';
import { jobType } from '../../jobs/definition.js';

/**
 * An article was published (now or at its scheduled time): recorded in the publishing
 * transaction; emails the author's followers, first batch. Handlers: ./jobs.ts.
 */
export const articlePublishedJobType = jobType(
  'notifications.article-published',
  Type.Object({ articleId: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }),
);

/**
 * Another batch of that fan-out: followers with user id after `after`, up to `upTo` when given
 * (a range the first job fixed), else the next NOTIFICATION_BATCH_SIZE (and it enqueues the next).
 */
export const newArticleBatchJobType = jobType(
  'notifications.new-article-batch',
  Type.Object(
    {
      articleId: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }),
      after: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }),
      upTo: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_147_483_647 })),
    },
    { additionalProperties: false },
  ),
);

/**
 * The weekly digest. Without `after` (the daily recurring run): starts the week's batches unless
 * they ran. With `after`: the batch of readers after that user id. `weekOf` (a Monday,
 * YYYY-MM-DD) defaults to the previous week.
 */
export const weeklyDigestJobType = jobType(
  'notifications.weekly-digest',
  Type.Object(
    {
      weekOf: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' })),
      after: Type.Optional(Type.Integer({ minimum: 0, maximum: 2_147_483_647 })),
    },
    { additionalProperties: false },
  ),
);
