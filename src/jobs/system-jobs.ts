import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Type } from 'typebox';
import { defineJob, jobType, PermanentJobError, recurring } from './definition.js';

/** Enqueues outbox rows whose enqueue was lost (runs every OUTBOX_SWEEP_INTERVAL). */
export const outboxSweepJobType = jobType(
  'system.outbox-sweep',
  Type.Object({}, { additionalProperties: false }),
);

/**
 * Diagnostics: proves the whole pipeline (retries, permanent failure, delays, crash recovery)
 * without touching user data. Its one effect is an exclusively created marker file under
 * DATA_DIR/job-probes, so running it again is harmless.
 */
export const probeJobType = jobType(
  'system.probe',
  Type.Object(
    {
      key: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
      /** Fail (transiently) this many first attempts. */
      failAttempts: Type.Optional(Type.Integer({ minimum: 0, maximum: 50 })),
      /** Fail permanently on the first attempt. */
      permanent: Type.Optional(Type.Boolean()),
      /** Keep working this long after the effect (lets tests kill a worker mid-job). */
      sleepMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 60_000 })),
    },
    { additionalProperties: false },
  ),
);

/**
 * The safety net of the outbox, the one sweep of the system: whatever was recorded but whose
 * enqueue was lost runs now (a request's jobs and emails, a fan-out batch's emails, a schedule).
 */
export const outboxSweepJob = defineJob(outboxSweepJobType, {
  // The next scheduled run is the retry.
  attempts: 1,
  async handle(_payload, { jobs, log }) {
    const enqueued = await jobs.sweepOutbox();
    if (enqueued > 0) log.info({ enqueued }, 'outbox sweep enqueued lost jobs');
  },
});

export const outboxSweepSchedule = recurring({
  id: 'outbox-sweep',
  type: outboxSweepJobType,
  payload: {},
  everyMs: (config) => config.jobs.outboxSweepSeconds * 1000,
});

/** Diagnostics job: its effect is a marker file created at most once. */
export const probeJob = defineJob(probeJobType, {
  async handle({ key, failAttempts = 0, permanent = false, sleepMs = 0 }, { attempt, jobId, config, log }) {
    if (permanent) throw new PermanentJobError('probe asked to fail permanently');
    if (attempt <= failAttempts) throw new Error(`probe asked to fail attempt ${attempt} of ${failAttempts}`);
    const dir = path.join(config.dataDir, 'job-probes');
    await mkdir(dir, { recursive: true });
    try {
      // `wx`: exclusive create, so a replay of the same job cannot apply the effect twice.
      await writeFile(path.join(dir, key), `${jobId}\n`, { flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      log.info({ key }, 'probe effect already applied');
    }
    // After the effect, before the acknowledgement: the window a crash makes a job run twice.
    if (sleepMs > 0) await sleep(sleepMs);
  },
});
