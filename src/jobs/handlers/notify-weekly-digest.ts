import { enqueueEmailSends } from '../../email/dispatch.js';
import {
  digestWeekOf,
  digestWeekStarted,
  previousWeekStart,
  queueWeeklyDigestBatch,
} from '../../modules/notifications/emails.js';
import { defineJob, PermanentJobError } from '../definition.js';

/**
 * The weekly digest. The recurring run (payload `{}`) starts every day but covers the previous
 * Monday-to-Monday week (UTC), and does nothing once that week's digests exist: so the digest goes
 * out once a week, on the first run after Monday 00:00, even when a run was missed (the embedded
 * runner's timers restart with the process). Batches follow the fan-out pattern: each enqueues
 * the next with a deterministic id; one row per reader and week (`digest:<week>:user:<id>`).
 */
export const weeklyDigestJob = defineJob({
  name: 'notifications.weekly-digest',
  async handle({ weekOf, after }, ctx) {
    const weekStart = weekOf ? new Date(`${weekOf}T00:00:00Z`) : previousWeekStart(new Date());
    if (Number.isNaN(weekStart.getTime())) throw new PermanentJobError(`weekOf ${weekOf} is not a date`);
    const week = digestWeekOf(weekStart);
    if (after === undefined) {
      // The daily start: hands the week to its first batch, unless the week's batches already ran.
      // The batch is a job of its own (deterministic id), so a crash in it is retried by the queue
      // even though its rows make this check say "started".
      if (await digestWeekStarted(ctx.db, weekStart)) {
        ctx.log.info({ week }, 'weekly digest already sent for this week');
        return;
      }
      await ctx.jobs.enqueue(
        'notifications.weekly-digest',
        { weekOf: week, after: 0 },
        { jobId: `weekly-digest-${week}-after-0` },
      );
      return;
    }
    const limit = ctx.config.notificationBatchSize;
    const batch = await queueWeeklyDigestBatch(ctx.db, ctx.config, { weekStart, after, limit });
    await enqueueEmailSends(ctx.jobs, batch.emailIds);
    if (batch.next !== null) {
      await ctx.jobs.enqueue(
        'notifications.weekly-digest',
        { weekOf: week, after: batch.next },
        { jobId: `weekly-digest-${week}-after-${batch.next}` },
      );
    }
    ctx.log.info({ week, after, emails: batch.emailIds.length, next: batch.next }, 'weekly digest batch');
  },
});
