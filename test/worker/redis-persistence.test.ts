import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ThrowawayRedis } from '../cache/throwaway-redis.js';
import { removeQueueKeys } from '../jobs/support.js';
import { createTestApp, type TestApp, testDatabaseKind } from '../support/app.js';
import { describeWithRedis, TEST_REDIS_URL } from '../support/services.js';
import { startWorkerFor, type WorkerProcess } from './process.js';

const aofWarning = (worker: WorkerProcess) =>
  worker.lines.find((line) => /Redis persistence \(AOF\) is off/.test(line.msg));

// A worker process needs PostgreSQL: in the pglite project these run as skipped.
describeWithRedis.runIf(testDatabaseKind === 'postgres')('the worker at start', () => {
  let t: TestApp;
  let noConfig: ThrowawayRedis | undefined;
  const prefix = `aof-${process.pid}`;
  const workers: WorkerProcess[] = [];
  beforeAll(async () => {
    t = await createTestApp({ REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, RUN_JOBS_IN_API: 'false' });
  });
  afterAll(async () => {
    for (const worker of workers) {
      worker.kill('SIGKILL');
      await worker.exited;
    }
    await noConfig?.stop();
    await t?.close();
    await removeQueueKeys(prefix);
  });

  it('warns exactly when the Redis it uses has AOF off', async () => {
    const admin = new Redis(TEST_REDIS_URL);
    const [, appendonly] = (await admin.config('GET', 'appendonly')) as string[];
    admin.disconnect();
    const worker = await startWorkerFor(t, { QUEUE_PREFIX: prefix });
    workers.push(worker);
    if (appendonly === 'yes') expect(aofWarning(worker)).toBeUndefined();
    else expect(aofWarning(worker)).toMatchObject({ level: 40, appendonly: 'off' });
  });

  it('starts, and still warns, on a Redis that refuses CONFIG', async () => {
    noConfig = await ThrowawayRedis.start(['--rename-command', 'CONFIG', '']);
    const worker = await startWorkerFor(t, { QUEUE_PREFIX: prefix, REDIS_URL: noConfig.url });
    workers.push(worker);
    expect(worker.started()).toBe(true);
    expect(aofWarning(worker)).toMatchObject({ level: 40, appendonly: 'off' });
  });
});
