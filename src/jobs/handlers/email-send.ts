import { emailSendJobId } from '../../email/dispatch.js';
import { runEmailSendJob } from '../../email/job.js';
import { defineJob, type JobEnqueuer } from '../definition.js';

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

/**
 * `email.send` for many committed email_log rows at once (a fan-out or digest batch): one Redis
 * round trip instead of one per row. The job ids are the request path's (`email-<id>`), so a row
 * dispatched twice, or a batch rerun after a crash, adds nothing new. Throws when the queue
 * does (the batch job is retried).
 */
export async function enqueueEmailSendJobs(jobs: JobEnqueuer, emailIds: readonly number[]): Promise<void> {
  await jobs.enqueueMany(
    'email.send',
    emailIds.map((emailId) => ({ payload: { emailId }, options: { jobId: emailSendJobId(emailId) } })),
  );
}
