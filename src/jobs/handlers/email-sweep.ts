import { findEmailsToSweep } from '../../email/log.js';
import { defineJob } from '../definition.js';

/** Longer than email.send's longest backoff (~8.5 min at JOB_BACKOFF_MS = 2 s), with room. */
const LOST_RETRY_MS = 30 * 60_000;
const SWEEP_LIMIT = 1000;

/**
 * The safety net of email dispatch (every OUTBOX_SWEEP_INTERVAL): rows whose `email.send` job was
 * lost get a new one. Its id names the row's attempt count, so repeated sweeps of one stale state
 * enqueue it once, and a row that moved on (another attempt) can be swept again later.
 */
export const emailSweepJob = defineJob({
  name: 'email.sweep',
  // The next scheduled run is the retry.
  attempts: 1,
  async handle(_payload, { db, jobs, log, config }) {
    const rows = await findEmailsToSweep(db, {
      // A never-attempted row still `queued` a sweep interval after its commit lost its enqueue
      // (Redis down at commit): the email's counterpart of the outbox sweep, on the same clock.
      queuedForMs: config.jobs.outboxSweepSeconds * 1000,
      retryingForMs: LOST_RETRY_MS,
      // deliverEmail's lease (JOB_LOCK_MS, renewed while the send runs): a row `sending` longer
      // belongs to a dead worker whose job was lost too.
      sendingForMs: config.jobs.lockMs,
      limit: SWEEP_LIMIT,
    });
    await jobs.enqueueMany(
      'email.send',
      rows.map((row) => ({
        payload: { emailId: row.id },
        options: { jobId: `email-${row.id}-sweep-${row.attempts}` },
      })),
    );
    if (rows.length > 0) log.info({ enqueued: rows.length }, 'email sweep enqueued lost sends');
  },
});
