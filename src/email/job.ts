import { Type } from 'typebox';
import type { Database } from '../db/client.js';
import { PermanentJobError } from '../jobs/definition.js';
import { deliverEmail, PermanentEmailError } from './delivery.js';
import type { Mailer } from './mailer.js';
import type { EmailKeys } from './render.js';

/**
 * The payload of the `email.send` job (src/jobs/payloads.ts); its handler is
 * src/jobs/handlers/email-send.ts, which calls runEmailSendJob with the job context's mailer.
 */
export const emailSendPayloadSchema = Type.Object(
  { emailId: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) },
  { additionalProperties: false },
);

export interface EmailSendContext {
  db: Database;
  /** The keys, and JOB_LOCK_MS: a `sending` row is held as long as BullMQ holds its job. */
  config: EmailKeys & { readonly jobs: { readonly lockMs: number } };
  /** The queue's attempt budget: the row's own counter gives up at the same number. */
  maxAttempts: number;
}

/**
 * One attempt of `email.send`. Transient SMTP trouble rethrows (the queue retries with backoff);
 * a 5xx, an unknown email, or the last attempt becomes PermanentJobError (no retry).
 */
export async function runEmailSendJob(
  context: EmailSendContext,
  mailer: Mailer,
  payload: { emailId: number },
): Promise<void> {
  try {
    await deliverEmail({ db: context.db, mailer, keys: context.config }, payload.emailId, {
      maxAttempts: context.maxAttempts,
      sendingLeaseMs: context.config.jobs.lockMs,
    });
  } catch (error) {
    if (error instanceof PermanentEmailError) throw new PermanentJobError(error.message, { cause: error });
    throw error;
  }
}
