import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobOutbox } from '../../src/db/schema.js';
import { recordJob } from '../../src/jobs/outbox.js';
import { probeJobType } from '../../src/jobs/system-jobs.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { outboxRow, probeEffects, removeQueueKeys, settledRow, uniqueKey, waitFor } from './support.js';

/** Short backoffs and a fast sweep, so the semantics are tested in seconds. */
export const FAST_JOBS_ENV = {
  JOB_ATTEMPTS: '3',
  JOB_BACKOFF_MS: '200',
  OUTBOX_SWEEP_INTERVAL: '1s',
  JOB_LOCK_MS: '2000',
};

/**
 * The contract both queue adapters fulfil. Each adapter's test file runs it against an app built
 * with its env: jobs go in through the public API (recordJob + flush, enqueue) and are observed
 * through their outbox rows and the probe job's effect file.
 */
export function queueContract(
  adapter: 'in-process' | 'bullmq',
  env: () => Record<string, string | undefined>,
) {
  describe(`job queue contract: ${adapter}`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({ ...FAST_JOBS_ENV, ...env() });
    });
    afterAll(async () => {
      await t?.close();
      if (adapter === 'bullmq') await removeQueueKeys(t.config.jobs.queuePrefix);
    });

    async function recordProbe(
      payload: { failAttempts?: number; permanent?: boolean; sleepMs?: number } = {},
      options: { runAt?: Date; dedupeKey?: string } = {},
    ) {
      const key = uniqueKey('probe');
      const id = await t.deps.database.db.transaction((tx) =>
        recordJob(tx, probeJobType, { key, ...payload }, options),
      );
      return { key, id };
    }

    it('uses the expected adapter', () => {
      expect(t.deps.jobs.mode).toBe(adapter);
    });

    it('runs a recorded job once it is flushed after commit, and marks its row done', async () => {
      const { key, id } = await recordProbe();
      await t.deps.jobs.flush([id]);
      const row = await settledRow(t, id);
      expect(row).toMatchObject({ status: 'done', attempts: 1, lastError: null });
      expect(probeEffects(t.dataDir, key)).toEqual([id]);
    });

    it('retries a transient failure with exponential backoff until it succeeds', async () => {
      const started = Date.now();
      const { key, id } = await recordProbe({ failAttempts: 2 });
      await t.deps.jobs.flush([id]);
      const row = await settledRow(t, id);
      expect(row).toMatchObject({ status: 'done', attempts: 3 });
      expect(probeEffects(t.dataDir, key)).toHaveLength(1);
      // Two retries waited at least 200·(1−½) + 400·(1−½) ms (jitter takes at most half off).
      expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    });

    it('fails a job for good once its attempts are used up, keeping the last error', async () => {
      const { key, id } = await recordProbe({ failAttempts: 10 });
      await t.deps.jobs.flush([id]);
      const row = await settledRow(t, id);
      expect(row).toMatchObject({ status: 'failed', attempts: 3 });
      expect(row.lastError).toMatch(/fail attempt 3/);
      expect(probeEffects(t.dataDir, key)).toEqual([]);
    });

    it('fails a permanent error at once, without retries', async () => {
      const { id } = await recordProbe({ permanent: true });
      await t.deps.jobs.flush([id]);
      const row = await settledRow(t, id);
      expect(row).toMatchObject({ status: 'failed', attempts: 1 });
      expect(row.lastError).toMatch(/PermanentJobError: probe asked to fail permanently/);
      await waitFor('the failed count', async () => (await t.deps.jobs.counts()).failed > 0);
    });

    it('refuses to enqueue a payload that does not match its schema', async () => {
      const id = await t.deps.jobs.enqueue(probeJobType, { key: uniqueKey('ok') });
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      // Types cannot express the key pattern; the schema check at enqueue time does.
      await expect(t.deps.jobs.enqueue(probeJobType, { key: 'has spaces' })).rejects.toThrow(
        /does not match its schema/,
      );
    });

    it('fails a recorded job whose payload no longer matches its schema at once', async () => {
      // E.g. recorded by an older release; retrying cannot fix it.
      const [row] = await t.deps.database.db
        .insert(jobOutbox)
        .values({ name: 'system.probe', payload: { key: 'not a valid key' } })
        .returning({ id: jobOutbox.id });
      if (!row) throw new Error('no row');
      await t.deps.jobs.flush([row.id]);
      const settled = await settledRow(t, row.id);
      expect(settled).toMatchObject({ status: 'failed', attempts: 1 });
      expect(settled.lastError).toMatch(/does not match its schema/);
    });

    it('runs a delayed job no earlier than its time', async () => {
      const runAt = new Date(Date.now() + 1500);
      const { key, id } = await recordProbe({}, { runAt });
      await t.deps.jobs.flush([id]);
      expect(await outboxRow(t, id)).toMatchObject({ status: 'enqueued', attempts: 0 });
      await waitFor('a delayed job in the counts', async () => (await t.deps.jobs.counts()).delayed > 0);
      const row = await settledRow(t, id);
      expect(row.status).toBe('done');
      expect(row.doneAt?.getTime()).toBeGreaterThanOrEqual(runAt.getTime());
      expect(probeEffects(t.dataDir, key)).toHaveLength(1);
    });

    it('deduplicates: the same dedupe key records one row, enqueued many times it runs once', async () => {
      const dedupeKey = uniqueKey('dedupe');
      const first = await recordProbe({ sleepMs: 200 }, { dedupeKey });
      const again = await t.deps.database.db.transaction((tx) =>
        recordJob(tx, probeJobType, { key: 'other' }, { dedupeKey }),
      );
      expect(again).toBe(first.id);
      await Promise.all([
        t.deps.jobs.flush([first.id]),
        t.deps.jobs.flush([first.id]),
        t.deps.jobs.sweepOutbox(),
      ]);
      const row = await settledRow(t, first.id);
      expect(row).toMatchObject({ status: 'done', attempts: 1 });
      expect(probeEffects(t.dataDir, first.key)).toHaveLength(1);
    });

    it('enqueuing a job id the queue still knows is a no-op', async () => {
      const jobId = uniqueKey('job');
      const runAt = new Date(Date.now() + 60_000);
      const before = (await t.deps.jobs.counts()).delayed;
      await t.deps.jobs.enqueue(probeJobType, { key: uniqueKey('x') }, { jobId, runAt });
      await t.deps.jobs.enqueue(probeJobType, { key: uniqueKey('y') }, { jobId, runAt });
      expect((await t.deps.jobs.counts()).delayed).toBe(before + 1);
    });

    it('flushes several recorded jobs in one call, and runs each once', async () => {
      const probes = [await recordProbe(), await recordProbe(), await recordProbe()];
      await t.deps.jobs.flush(probes.map((probe) => probe.id));
      for (const { key, id } of probes) {
        expect(await settledRow(t, id)).toMatchObject({ status: 'done', attempts: 1 });
        expect(probeEffects(t.dataDir, key)).toEqual([id]);
      }
    });

    it('enqueues many jobs in one call: each runs once, under the id it was given or a new one', async () => {
      const keys = [uniqueKey('many'), uniqueKey('many'), uniqueKey('many')];
      const jobId = uniqueKey('many-job');
      const ids = await t.deps.jobs.enqueueMany(probeJobType, [
        { payload: { key: keys[0] ?? '' }, options: { jobId } },
        { payload: { key: keys[1] ?? '' } },
        { payload: { key: keys[2] ?? '' } },
      ]);
      expect(ids[0]).toBe(jobId);
      expect(ids.slice(1)).toEqual([
        expect.stringMatching(/^[0-9a-f-]{36}$/),
        expect.stringMatching(/^[0-9a-f-]{36}$/),
      ]);
      for (const [i, key] of keys.entries()) {
        await waitFor(`the effect of ${key}`, () => probeEffects(t.dataDir, key).length > 0);
        expect(probeEffects(t.dataDir, key)).toEqual([ids[i]]);
      }
    });

    it('enqueueMany: a job id the queue knows, from before or from the same call, is a no-op', async () => {
      const runAt = new Date(Date.now() + 60_000);
      const [known, fresh] = [uniqueKey('job'), uniqueKey('job')];
      const before = (await t.deps.jobs.counts()).delayed;
      await t.deps.jobs.enqueue(probeJobType, { key: uniqueKey('x') }, { jobId: known, runAt });
      await t.deps.jobs.enqueueMany(probeJobType, [
        { payload: { key: uniqueKey('y') }, options: { jobId: known, runAt } },
        { payload: { key: uniqueKey('z') }, options: { jobId: fresh, runAt } },
        { payload: { key: uniqueKey('w') }, options: { jobId: fresh, runAt } },
      ]);
      expect((await t.deps.jobs.counts()).delayed).toBe(before + 2);
    });

    it('enqueueMany adds nothing when one payload does not match its schema', async () => {
      const runAt = new Date(Date.now() + 60_000);
      const before = (await t.deps.jobs.counts()).delayed;
      await expect(
        t.deps.jobs.enqueueMany(probeJobType, [
          { payload: { key: uniqueKey('fine') }, options: { runAt } },
          { payload: { key: 'has spaces' }, options: { runAt } },
        ]),
      ).rejects.toThrow(/does not match its schema/);
      expect((await t.deps.jobs.counts()).delayed).toBe(before);
      expect(await t.deps.jobs.enqueueMany(probeJobType, [])).toEqual([]);
    });

    it('the recurring sweep runs work whose enqueue was lost', async () => {
      // Recorded and committed, but never flushed: the request "crashed" after its commit.
      const { key, id } = await recordProbe();
      const row = await settledRow(t, id);
      expect(row).toMatchObject({ status: 'done', attempts: 1 });
      expect(probeEffects(t.dataDir, key)).toHaveLength(1);
    });
  });
}
