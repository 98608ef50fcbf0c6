import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { defineJob, PermanentJobError } from '../definition.js';

/** Diagnostics job (see payloads.ts): its effect is a marker file created at most once. */
export const probeJob = defineJob({
  name: 'system.probe',
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
