import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { PayloadOf } from '../../src/jobs/definition.js';
import { recordJob } from '../../src/jobs/outbox.js';
import { JobRegistryError } from '../../src/jobs/registry.js';
import { probeJobType } from '../../src/jobs/system-jobs.js';
import { jobDefinitions } from '../../src/jobs-registry.js';
import { startWorker } from '../../src/worker-runtime.js';
import { probeEffects, removeQueueKeys, settledRow, uniqueKey, waitFor } from '../jobs/support.js';
import { createTestApp, TEST_JWT_SECRET, type TestApp, testDatabaseKind } from '../support/app.js';
import { describeWithRedis, TEST_REDIS_URL } from '../support/services.js';
import { startWorkerFor, WorkerProcess } from './process.js';

describe('worker start', () => {
  const config = () =>
    loadConfig({
      NODE_ENV: 'test',
      JWT_SECRET: TEST_JWT_SECRET,
      REDIS_URL: TEST_REDIS_URL,
      DATABASE_URL: 'postgres://nobody@127.0.0.1:1/never-opened',
    });

  it('refuses to start when a job name has no handler', async () => {
    const definitions = jobDefinitions.filter((d) => d.type.name !== 'system.probe');
    await expect(startWorker(config(), { definitions })).rejects.toThrow(JobRegistryError);
    await expect(startWorker(config(), { definitions })).rejects.toThrow(/no handler for job "system.probe"/);
  });

  it('refuses to start when a job name has two handlers', async () => {
    const definitions = [...jobDefinitions, ...jobDefinitions.slice(0, 1)];
    await expect(startWorker(config(), { definitions })).rejects.toThrow(/two handlers for job/);
  });

  it('refuses to run on the embedded PGlite database, which only one process can open', async () => {
    const worker = new WorkerProcess({
      NODE_ENV: 'test',
      REDIS_URL: TEST_REDIS_URL,
      JWT_SECRET: TEST_JWT_SECRET,
    });
    expect(await worker.exited).toEqual({ code: 1, signal: null });
    expect(worker.output).toMatch(/config error: the worker needs DATABASE_URL/);
  });
});

// A worker process needs PostgreSQL (see above): in the pglite project these run as skipped.
describeWithRedis.runIf(testDatabaseKind === 'postgres')('worker processes', () => {
  let t: TestApp;
  const prefix = `worker-${randomBytes(4).toString('hex')}`;
  const workers: WorkerProcess[] = [];
  const jobsEnv = { JOB_LOCK_MS: '2000', JOB_BACKOFF_MS: '100', OUTBOX_SWEEP_INTERVAL: '1s' };

  beforeAll(async () => {
    // The API side only enqueues, as in production.
    t = await createTestApp({
      ...jobsEnv,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: prefix,
      RUN_JOBS_IN_API: 'false',
    });
  });
  afterEach(async () => {
    for (const worker of workers.splice(0)) {
      if (worker.child.exitCode === null && worker.child.signalCode === null) {
        worker.kill('SIGKILL');
        await worker.exited;
      }
    }
  });
  afterAll(async () => {
    await t?.close();
    await removeQueueKeys(prefix);
  });

  async function startWorkerProcess(concurrency = 2): Promise<WorkerProcess> {
    const worker = await startWorkerFor(t, {
      ...jobsEnv,
      QUEUE_PREFIX: prefix,
      WORKER_CONCURRENCY: String(concurrency),
    });
    workers.push(worker);
    return worker;
  }

  async function submitProbe(payload: Omit<PayloadOf<typeof probeJobType>, 'key'>) {
    const key = uniqueKey('probe');
    const id = await t.deps.database.db.transaction((tx) => recordJob(tx, probeJobType, { key, ...payload }));
    await t.deps.jobs.flush([id]);
    return { key, id };
  }

  it('runs the jobs an API process enqueued, logging one line per attempt', async () => {
    const worker = await startWorkerProcess();
    const { key, id } = await submitProbe({ failAttempts: 1 });
    expect(await settledRow(t, id)).toMatchObject({ status: 'done', attempts: 2 });
    expect(probeEffects(t.dataDir, key)).toEqual([id]);
    await waitFor('both attempt lines', () => worker.attempts(id).length === 2);
    expect(worker.attempts(id)).toEqual([
      expect.objectContaining({ jobId: id, job: 'system.probe', attempt: 1, outcome: 'retry' }),
      expect.objectContaining({ jobId: id, job: 'system.probe', attempt: 2, outcome: 'completed' }),
    ]);
    // The start-up check of Redis' eviction policy: a warning exactly when it is not noeviction.
    const policy = await t.deps.jobs.bullmq?.evictionPolicy();
    const warned = worker.lines.some((line) => /maxmemory-policy is not noeviction/.test(line.msg));
    expect(warned).toBe(policy !== 'noeviction');
  });

  it('shares the work between any number of worker processes', async () => {
    const [a, b] = await Promise.all([startWorkerProcess(1), startWorkerProcess(1)]);
    const probes = await Promise.all([1, 2, 3, 4].map(() => submitProbe({ sleepMs: 800 })));
    for (const { id } of probes) expect((await settledRow(t, id)).status).toBe('done');
    const ranOn = (worker: WorkerProcess | undefined) =>
      probes.filter(({ id }) => worker?.attempts(id).some((line) => line.outcome === 'completed')).length;
    // The row is marked done before the worker's log line has come through the pipe.
    await waitFor('a completed line for every probe', () => ranOn(a) + ranOn(b) >= 4);
    // One job at a time each: while one worker is busy, the other takes the next job.
    expect(ranOn(a)).toBeGreaterThan(0);
    expect(ranOn(b)).toBeGreaterThan(0);
    expect(ranOn(a) + ranOn(b)).toBe(4);
  });

  it('a job cut off by SIGKILL runs again on a restarted worker, its effect applied once', async () => {
    const first = await startWorkerProcess();
    const { key, id } = await submitProbe({ sleepMs: 3000 });
    // The effect is applied; the job is still running (not acknowledged) when the worker dies.
    await waitFor('the probe effect', () => probeEffects(t.dataDir, key).length === 1);
    first.kill('SIGKILL');
    expect(await first.exited).toMatchObject({ signal: 'SIGKILL' });
    expect(first.attempts(id)).toEqual([]);

    const second = await startWorkerProcess();
    const row = await settledRow(t, id, 20_000);
    expect(row).toMatchObject({ status: 'done', attempts: 2 });
    // The row is marked done before the worker's log line has come through the pipe.
    await waitFor('the completed line', () => second.attempts(id).length > 0);
    expect(second.attempts(id)).toEqual([expect.objectContaining({ outcome: 'completed' })]);
    expect(second.lines.some((line) => line.msg === 'probe effect already applied')).toBe(true);
    expect(probeEffects(t.dataDir, key), `effects; worker logs:\n${first.output}\n${second.output}`).toEqual([
      id,
    ]);
  }, 40_000);

  it('SIGTERM lets the running job finish, then exits 0', async () => {
    const worker = await startWorkerProcess();
    const { key, id } = await submitProbe({ sleepMs: 1500 });
    await waitFor('the probe effect', () => probeEffects(t.dataDir, key).length === 1);
    worker.kill('SIGTERM');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect(worker.attempts(id)).toEqual([expect.objectContaining({ outcome: 'completed' })]);
    expect(worker.lines.at(-1)?.msg).toBe('worker stopped');
    // Done before the process went away, not left to another worker.
    expect((await settledRow(t, id, 1000)).status).toBe('done');
  });
});
