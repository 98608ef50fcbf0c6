import { type Static, Type } from 'typebox';
import { emailSendPayloadSchema } from '../email/job.js';

/**
 * Every job the system knows, with the schema of its payload. Payloads carry ids and small
 * parameters only — never whole rows or secrets: a handler reads current state when it runs,
 * and Redis (or a log line) never holds what it must not. A payload that does not match its
 * schema fails the job at once (retrying cannot fix it).
 *
 * Adding a job: a name + schema here, and one handler file in ./handlers listed in ./registry.ts.
 */
export const jobPayloadSchemas = {
  /** Delivers one email_log row over SMTP (src/email); job id `email-<id>`. */
  'email.send': emailSendPayloadSchema,
  /** Re-enqueues email.send for rows whose job was lost (every minute). */
  'email.sweep': Type.Object({}, { additionalProperties: false }),
  /**
   * An article was published (now or at its scheduled time): recorded in the publishing
   * transaction; emails the author's followers, first batch (src/modules/notifications).
   */
  'notifications.article-published': Type.Object(
    { articleId: Type.Integer({ minimum: 1 }) },
    { additionalProperties: false },
  ),
  /**
   * Another batch of that fan-out: followers with user id after `after`, up to `upTo` when given
   * (a range the first job fixed), else the next NOTIFICATION_BATCH_SIZE (and it enqueues the next).
   */
  'notifications.new-article-batch': Type.Object(
    {
      articleId: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }),
      after: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }),
      upTo: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_147_483_647 })),
    },
    { additionalProperties: false },
  ),
  /**
   * The weekly digest. Without `after` (the daily recurring run): starts the week's batches unless
   * they ran. With `after`: the batch of readers after that user id. `weekOf` (a Monday,
   * YYYY-MM-DD) defaults to the previous week.
   */
  'notifications.weekly-digest': Type.Object(
    {
      weekOf: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' })),
      after: Type.Optional(Type.Integer({ minimum: 0, maximum: 2_147_483_647 })),
    },
    { additionalProperties: false },
  ),
  /** Publishes one scheduled article once its `publish_at` has passed (delayed; idempotent). */
  'articles.publish': Type.Object(
    { articleId: Type.Integer({ minimum: 1 }) },
    { additionalProperties: false },
  ),
  /** Publishes every scheduled article that is due (every minute): catches lost publish jobs. */
  'articles.publish-due': Type.Object({}, { additionalProperties: false }),
  /** Deletes refresh tokens that expired or were revoked/rotated more than `retentionDays` ago. */
  'maintenance.purge-refresh-tokens': Type.Object(
    { retentionDays: Type.Integer({ minimum: 0, maximum: 3650 }) },
    { additionalProperties: false },
  ),
  /** Enqueues outbox rows whose enqueue was lost (runs every OUTBOX_SWEEP_INTERVAL). */
  'system.outbox-sweep': Type.Object({}, { additionalProperties: false }),
  /**
   * Diagnostics: proves the whole pipeline (retries, permanent failure, delays, crash recovery)
   * without touching user data. Its one effect is an exclusively created marker file under
   * DATA_DIR/job-probes, so running it again is harmless.
   */
  'system.probe': Type.Object(
    {
      key: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
      /** Fail (transiently) this many first attempts. */
      failAttempts: Type.Optional(Type.Integer({ minimum: 0, maximum: 50 })),
      /** Fail permanently on the first attempt. */
      permanent: Type.Optional(Type.Boolean()),
      /** Keep working this long after the effect (lets tests kill a worker mid-job). */
      sleepMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 60_000 })),
    },
    { additionalProperties: false },
  ),
};

export type JobName = keyof typeof jobPayloadSchemas;
export type JobPayload<N extends JobName> = Static<(typeof jobPayloadSchemas)[N]>;

export const JOB_NAMES = Object.keys(jobPayloadSchemas) as JobName[];

export function isJobName(name: string): name is JobName {
  return Object.hasOwn(jobPayloadSchemas, name);
}
