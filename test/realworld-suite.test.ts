import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import newman, { type NewmanRunSummary } from 'newman';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeQueueKeys, waitFor } from './jobs/support.js';
import { testDatabaseKind } from './support/app.js';
import {
  type ServerProcess,
  type ServerSandbox,
  serverSandbox,
  startServerProcess,
  stopServerProcess,
  TSX_SERVER,
} from './support/server-process.js';
import { describeWithRedis, TEST_REDIS_URL } from './support/services.js';
import { WorkerProcess } from './worker/process.js';

/**
 * The RealWorld community's own API test suite (test/fixtures/Conduit.postman_collection.json),
 * run with newman against a real server process as an implementer runs it: embedded mode in the
 * pglite project, production mode (PostgreSQL, Redis, a worker process) in the postgres project.
 */

const COLLECTION = path.resolve('test/fixtures/Conduit.postman_collection.json');

/**
 * The assertions the collection makes against a fresh database. Its scripts hold 380 `tests[…]`
 * lines, but they branch on the data: the lists read before the first article exists and the feed
 * of a user who follows nobody take their empty-list branch, so 311 run. Pinned, because a request
 * that stops asserting (a script that throws on a non-JSON body, a status that skips the checks)
 * lowers it without failing a single assertion.
 */
const EXPECTED_ASSERTIONS = 311;

function requestCount(): number {
  const collection = JSON.parse(readFileSync(COLLECTION, 'utf8')) as { item: { item: unknown[] }[] };
  return collection.item.reduce((sum, folder) => sum + folder.item.length, 0);
}

function runCollection(apiUrl: string): Promise<NewmanRunSummary> {
  const id = randomBytes(4).toString('hex');
  return new Promise((resolve, reject) =>
    newman.run(
      {
        collection: COLLECTION,
        envVar: [
          { key: 'APIURL', value: `${apiUrl}/api` },
          { key: 'USERNAME', value: `newman_${id}` },
          { key: 'EMAIL', value: `newman_${id}@example.com` },
          { key: 'PASSWORD', value: `password-${id}` },
        ],
        reporters: [],
        timeoutRequest: 15_000,
      },
      (error, summary) => (error ? reject(error) : resolve(summary)),
    ),
  );
}

function failuresOf(summary: NewmanRunSummary): string[] {
  return summary.run.failures.map(
    (failure) => `${failure.source?.name ?? '?'}: ${failure.error.test ?? ''} ${failure.error.message}`,
  );
}

function expectAllGreen(summary: NewmanRunSummary): void {
  const { stats } = summary.run;
  expect(failuresOf(summary)).toEqual([]);
  expect(stats.requests.total).toBe(requestCount());
  expect(stats.requests.failed).toBe(0);
  expect(stats.testScripts.failed).toBe(0);
  expect(stats.assertions.failed).toBe(0);
  expect(stats.assertions.total).toBeGreaterThan(0);
  expect(stats.assertions.total).toBe(EXPECTED_ASSERTIONS);
  const silent = summary.run.executions
    .filter((execution) => execution.item.events.all().some((event) => event.listen === 'test'))
    .filter((execution) => (execution.assertions ?? []).length === 0)
    .map((execution) => execution.item.name);
  expect(silent).toEqual([]);
}

/** Generous auth limits: the suite registers and logs in from one address in a burst. */
const SUITE_ENV = { AUTH_RATE_LIMIT_IP_MAX: '1000', AUTH_RATE_LIMIT_ACCOUNT_MAX: '1000' };

if (testDatabaseKind === 'pglite') {
  describe('the RealWorld API suite (newman), embedded mode', () => {
    let sandbox: ServerSandbox | undefined;
    let server: ServerProcess | undefined;
    beforeAll(async () => {
      sandbox = await serverSandbox('newman_embedded', SUITE_ENV);
      server = await startServerProcess(TSX_SERVER, sandbox.env);
    }, 90_000);
    afterAll(async () => {
      await stopServerProcess(server);
      await sandbox?.remove();
    });

    it('passes every assertion', async () => {
      if (!server) throw new Error('no server');
      expectAllGreen(await runCollection(server.baseUrl));
    }, 120_000);
  });
} else {
  describeWithRedis('the RealWorld API suite (newman), production mode', () => {
    const prefix = `newman-${randomBytes(4).toString('hex')}`;
    let sandbox: ServerSandbox | undefined;
    let server: ServerProcess | undefined;
    let worker: WorkerProcess | undefined;
    beforeAll(async () => {
      sandbox = await serverSandbox('newman_production', {
        ...SUITE_ENV,
        REDIS_URL: TEST_REDIS_URL,
        QUEUE_PREFIX: prefix,
        RATE_LIMIT_KEY_PREFIX: `${prefix}:rate-limit:`,
        CACHE_KEY_PREFIX: `${prefix}:cache:`,
      });
      server = await startServerProcess(TSX_SERVER, sandbox.env);
      const started = new WorkerProcess({ ...sandbox.env, MIGRATE_ON_START: 'false' });
      worker = started;
      await waitFor(`the worker to start:\n${started.output}`, () => started.started(), 30_000);
    }, 90_000);
    afterAll(async () => {
      await stopServerProcess(server);
      if (worker && worker.child.exitCode === null) {
        worker.kill('SIGTERM');
        await worker.exited;
      }
      await sandbox?.remove();
      await removeQueueKeys(prefix);
    });

    it('passes every assertion', async () => {
      if (!server) throw new Error('no server');
      expectAllGreen(await runCollection(server.baseUrl));
    }, 120_000);
  });
}
