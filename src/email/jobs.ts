import type { Database } from '../db/client.js';
import { defineJob, PermanentJobError } from '../jobs/definition.js';
import { deliverEmail, deliverEmails, PermanentEmailError, TransientEmailError } from './delivery.js';
import { emailSendBatchJobType, emailSendJobType } from './job-types.js';
import type { Mailer } from './mailer.js';
import type { EmailKeys } from './render.js';

/**
 * Retries of one email: with JOB_BACKOFF_MS = 2 s the waits double from 2 s to ~8.5 min, so an
 * SMTP outage of about a quarter of an hour is ridden out (jitter shortens each wait by up to
 * half). The row counts the same attempts and turns `failed` at the last one.
 */
export const EMAIL_SEND_ATTEMPTS = 10;

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

/** Delivers one email_log row over SMTP (idempotent: a sent row is skipped). */
export const emailSendJob = defineJob(emailSendJobType, {
  attempts: EMAIL_SEND_ATTEMPTS,
  // runEmailSendJob turns a 5xx, an unknown row or the last attempt into PermanentJobError.
  handle: (payload, ctx) => runEmailSendJob(ctx, ctx.mailer, payload),
});

/**
 * One attempt of `email.send-batch`. Rows still worth a try make the batch retry (with the same
 * backoff and budget as one email: each row counts its attempts and fails at the last one);
 * otherwise rows that failed for good fail the job, so the dashboard shows it, while the rows
 * that were sent stay sent.
 */
export async function runEmailSendBatchJob(
  context: EmailSendContext,
  mailer: Mailer,
  payload: { emailIds: number[] },
): Promise<void> {
  const outcome = await deliverEmails({ db: context.db, mailer, keys: context.config }, payload.emailIds, {
    maxAttempts: context.maxAttempts,
    sendingLeaseMs: context.config.jobs.lockMs,
  });
  const summary = `${outcome.sent} sent, ${outcome.skipped} skipped, ${outcome.retry.length} to retry, ${outcome.failed.length} failed`;
  if (outcome.retry.length > 0) {
    throw new TransientEmailError(`${summary}; first: ${outcome.retry[0]?.message}`, {
      cause: outcome.retry[0],
    });
  }
  if (outcome.failed.length > 0) {
    throw new PermanentJobError(`${summary}; first: ${outcome.failed[0]?.message}`, {
      cause: outcome.failed[0],
    });
  }
}

/** Delivers up to EMAIL_SEND_BATCH_MAX email_log rows over SMTP (each idempotent, as `email.send`). */
export const emailSendBatchJob = defineJob(emailSendBatchJobType, {
  attempts: EMAIL_SEND_ATTEMPTS,
  handle: (payload, ctx) => runEmailSendBatchJob(ctx, ctx.mailer, payload),
});
