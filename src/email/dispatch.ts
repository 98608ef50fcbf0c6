import type { JobEnqueuer } from '../jobs/definition.js';

/**
 * Hands committed email_log rows over for delivery. Callers dispatch after their transaction
 * commits; a dispatch that is lost (crash, Redis down) leaves the row `queued`, where the
 * `email.sweep` job (`findEmailsToSweep`) finds it again. So dispatch never fails the request
 * that caused it.
 */
export interface EmailDispatcher {
  dispatch(emailIds: readonly number[]): Promise<void>;
  /** Resolves when every enqueue dispatched so far has finished (tests, diagnostics). */
  idle(): Promise<void>;
  /** Waits for enqueues in flight (graceful shutdown). */
  close(): Promise<void>;
}

export interface DispatchLogger {
  warn(details: Record<string, unknown>, message: string): void;
}

/** What dispatch needs from the jobs queue (`deps.jobs`, or a job handler's `ctx.jobs`). */
export type EmailSendEnqueuer = Pick<JobEnqueuer, 'enqueueMany'>;

/**
 * The job id of an email's send job: deterministic, so dispatching the same row twice (a retried
 * fan-out batch, a replayed request) is a no-op while the queue knows the job. No `:` — BullMQ
 * refuses it in custom ids.
 */
export function emailSendJobId(emailId: number): string {
  return `email-${emailId}`;
}

/**
 * Enqueues `email.send` for each row, in one Redis round trip (a fan-out or digest batch of 500
 * included). Throws when the queue does: job handlers are retried, and a row dispatched twice adds
 * nothing new (the job ids above).
 */
export async function enqueueEmailSends(jobs: EmailSendEnqueuer, emailIds: readonly number[]): Promise<void> {
  await jobs.enqueueMany(
    'email.send',
    emailIds.map((emailId) => ({ payload: { emailId }, options: { jobId: emailSendJobId(emailId) } })),
  );
}

/**
 * The request-path dispatcher: enqueues `email.send` per row after commit. BullMQ when REDIS_URL
 * is set (workers send), the in-process queue otherwise (this process sends, with the same
 * retries). A failed enqueue is logged, never thrown: the row stays `queued` for the sweep.
 */
export function createQueueDispatcher(jobs: EmailSendEnqueuer, log?: DispatchLogger): EmailDispatcher {
  const inFlight = new Set<Promise<void>>();
  const settled = () => Promise.all([...inFlight]).then(() => undefined);
  return {
    dispatch: async (emailIds) => {
      const enqueue = enqueueEmailSends(jobs, emailIds)
        .catch((error: unknown) => {
          log?.warn(
            { emailIds, error: error instanceof Error ? error.message : String(error) },
            'email enqueue after commit failed; the email sweep will retry',
          );
        })
        .finally(() => inFlight.delete(enqueue));
      inFlight.add(enqueue);
      await enqueue;
    },
    idle: settled,
    close: settled,
  };
}
