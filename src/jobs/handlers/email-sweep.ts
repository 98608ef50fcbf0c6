import { findEmailsToSweep } from '../../email/log.js';
import { defineJob } from '../definition.js';

/** A never-attempted row still `queued` after this long lost its enqueue (Redis down at commit). */
const LOST_ENQUEUE_MS = 60_000;
/** Longer than email.send's longest backoff (~8.5 min at JOB_BACKOFF_MS = 2 s), with room. */
const LOST_RETRY_MS = 30 * 60_000;
/** deliverEmail's lease: a row `sending` longer than this belongs to a dead worker. */
const SENDING_LEASE_MS = 10 * 60_000;
const SWEEP_LIMIT = 1000;

/**
 * The safety net of email dispatch (every minute): rows whose `email.send` job was lost get a new
 * one. Its id names the row's attempt count, so repeated sweeps of one stale state enqueue it
 * once, and a row that moved on (another attempt) can be swept again later.
 */
export const emailSweepJob = defineJob({
  name: 'email.sweep',
  // The next scheduled run is the retry.
  attempts: 1,
  async handle(_payload, { db, jobs, log }) {
    const rows = await findEmailsToSweep(db, {
      queuedForMs: LOST_ENQUEUE_MS,
      retryingForMs: LOST_RETRY_MS,
      sendingForMs: SENDING_LEASE_MS,
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
