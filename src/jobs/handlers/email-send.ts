import { runEmailSendJob } from '../../email/job.js';
import { defineJob } from '../definition.js';

/**
 * Retries of one email: with JOB_BACKOFF_MS = 2 s the waits double from 2 s to ~8.5 min, so an
 * SMTP outage of about a quarter of an hour is ridden out (jitter shortens each wait by up to
 * half). The row counts the same attempts and turns `failed` at the last one.
 */
export const EMAIL_SEND_ATTEMPTS = 10;

/** Delivers one email_log row over SMTP (idempotent: a sent row is skipped). */
export const emailSendJob = defineJob({
  name: 'email.send',
  attempts: EMAIL_SEND_ATTEMPTS,
  // runEmailSendJob turns a 5xx, an unknown row or the last attempt into PermanentJobError.
  handle: (payload, ctx) => runEmailSendJob(ctx, ctx.mailer, payload),
});
