import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { recordJob } from '../../src/jobs/outbox.js';
import { probeJobType } from '../../src/jobs/system-jobs.js';
import { removeQueueKeys, settledRow, uniqueKey, waitFor } from '../jobs/support.js';
import { createTestApp, type TestApp, testDatabaseKind } from '../support/app.js';
import { describeWithRedis, TEST_REDIS_URL } from '../support/services.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { startWorkerFor, type WorkerProcess } from '../worker/process.js';

/**
 * A worker process whose database goes away (through a proxy the test controls): its job
 * attempts fail and are retried, it stays up, and the job completes once the database is back.
 */
describeWithRedis.runIf(testDatabaseKind === 'postgres')('a worker process during a database outage', () => {
  let t: TestApp;
  let proxy: TcpProxy;
  let worker: WorkerProcess;
  const prefix = `faults-worker-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    t = await createTestApp({
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: prefix,
      RUN_JOBS_IN_API: 'false',
    });
    const target = new URL(t.config.databaseUrl ?? '');
    proxy = new TcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    await proxy.start();
    worker = await startWorkerFor(t, {
      DATABASE_URL: proxy.urlFor(t.config.databaseUrl ?? ''),
      QUEUE_PREFIX: prefix,
      JOB_ATTEMPTS: '50',
      JOB_BACKOFF_MS: '100',
      DATABASE_CONNECT_TIMEOUT_MS: '1000',
    });
  }, 90_000);
  afterAll(async () => {
    if (worker && worker.child.exitCode === null && worker.child.signalCode === null) {
      worker.kill('SIGTERM');
      await worker.exited;
    }
    await proxy?.close();
    await t?.close();
    await removeQueueKeys(prefix);
  });

  it('retries the job while the database refuses connections, stays up, and completes it after', async () => {
    await proxy.refuse();
    const key = uniqueKey('probe');
    const id = await t.deps.database.db.transaction((tx) => recordJob(tx, probeJobType, { key }));
    await t.deps.jobs.flush([id]);
    await waitFor(
      'two failed attempts',
      () => worker.attempts(id).filter((l) => l.outcome === 'retry').length >= 2,
    );
    expect(worker.child.exitCode).toBeNull();

    await proxy.start();
    expect(await settledRow(t, id, 30_000)).toMatchObject({ status: 'done' });
    expect(worker.child.exitCode, worker.output.slice(-3000)).toBeNull();
    expect(worker.output).not.toMatch(/TypeError|uncaught/i);
  }, 90_000);
});
