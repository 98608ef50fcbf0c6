import { defineJob } from '../definition.js';

/** The safety net of the outbox: whatever was recorded but whose enqueue was lost runs now. */
export const outboxSweepJob = defineJob({
  name: 'system.outbox-sweep',
  // The next scheduled run is the retry.
  attempts: 1,
  async handle(_payload, { jobs, log }) {
    const enqueued = await jobs.sweepOutbox();
    if (enqueued > 0) log.info({ enqueued }, 'outbox sweep enqueued lost jobs');
  },
});
