import { Type } from 'typebox';
import { jobType } from '../jobs/definition.js';

/**
 * Delivers one email_log row over SMTP. Recorded with the row, in the transaction that queues the
 * email (src/email/log.ts), one outbox row per email (dedupe key `email.send:<id>`): the outbox
 * row's id is the job id, so the same email is one job however often it is flushed or swept.
 * Its handler is src/email/jobs.ts.
 */
export const emailSendJobType = jobType(
  'email.send',
  Type.Object(
    { emailId: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) },
    { additionalProperties: false },
  ),
);

export const emailSendDedupeKey = (emailId: number) => `email.send:${emailId}`;

/** Most emails one `email.send-batch` job delivers. */
export const EMAIL_SEND_BATCH_MAX = 50;

/**
 * Delivers several email_log rows written by one unit of work (a fan-out batch, a digest batch),
 * each exactly as `email.send` delivers one: the rows' own statuses make it idempotent, so a retry
 * sends only the rows not yet sent. One job, one outbox row and one queue round trip for up to
 * EMAIL_SEND_BATCH_MAX emails, instead of one each (dedupe key `email.send-batch:<first id>`).
 */
export const emailSendBatchJobType = jobType(
  'email.send-batch',
  Type.Object(
    {
      emailIds: Type.Array(Type.Integer({ minimum: 1, maximum: 2_147_483_647 }), {
        minItems: 1,
        maxItems: EMAIL_SEND_BATCH_MAX,
        uniqueItems: true,
      }),
    },
    { additionalProperties: false },
  ),
);

export const emailSendBatchDedupeKey = (firstEmailId: number) => `email.send-batch:${firstEmailId}`;
