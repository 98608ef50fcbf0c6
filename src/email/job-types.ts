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
