import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseKind, testPgbouncerUrl, throughPgbouncer } from '../support/app.js';
import {
  type ServerProcess,
  type ServerSandbox,
  serverSandbox,
  startServerProcess,
  stopServerProcess,
  TSX_SERVER,
} from '../support/server-process.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { type Answer, createSession, mixedRequest, request, type Session, startLoad } from './load.js';

/**
 * The database fails, the API does not: a real server process (a crash shows as the process
 * dying) reaches its own database through a proxy the test controls, directly in the `postgres`
 * project and through a transaction-mode PgBouncer in the `pgbouncer` project. Only this file's
 * database is touched: backends are terminated by its name, the shared server never stops.
 */
const CONNECT_TIMEOUT_MS = 1000;
const STATEMENT_TIMEOUT_MS = 2000;
/** A 503 comes within the connect or statement bound; the rest is a loaded CI machine's slack. */
const ANSWER_BOUND_MS = STATEMENT_TIMEOUT_MS + 3000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function eventually(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(200);
  }
}

function expectOnly200sAnd503s(answers: Answer[], server: ServerProcess): void {
  const unexpected = answers.filter((answer) => ![200, 201, 503].includes(answer.status));
  expect(unexpected, server.logs().slice(-4000)).toEqual([]);
  for (const answer of answers.filter(({ status }) => status === 503)) {
    expect(answer.contentType).toMatch(/^application\/problem\+json/);
    expect(Number(answer.retryAfter)).toBeGreaterThan(0);
  }
}

describe.runIf(testDatabaseKind === 'postgres')(
  `PostgreSQL failures under load (${testPgbouncerUrl ? 'through PgBouncer' : 'direct'})`,
  () => {
    const label = testPgbouncerUrl ? 'faults_pgbouncer' : 'faults_direct';
    let sandbox: ServerSandbox;
    let server: ServerProcess;
    let proxy: TcpProxy;
    let admin: pg.Client;
    let databaseName: string;
    let session: Session;

    beforeAll(async () => {
      sandbox = await serverSandbox(label);
      const directUrl = sandbox.env.DATABASE_URL ?? '';
      databaseName = new URL(directUrl).pathname.slice(1);
      const targetUrl = testPgbouncerUrl ? throughPgbouncer(directUrl, testPgbouncerUrl) : directUrl;
      const target = new URL(targetUrl);
      proxy = new TcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
      await proxy.start();
      server = await startServerProcess(TSX_SERVER, {
        ...sandbox.env,
        DATABASE_URL: proxy.urlFor(targetUrl),
        DATABASE_MIGRATION_URL: directUrl,
        DATABASE_POOLER: testPgbouncerUrl ? 'transaction' : 'none',
        DATABASE_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
        DATABASE_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
        // Every request reads the database: nothing is answered from the cache.
        CACHE_ENABLED: 'false',
      });
      admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
      await admin.connect();
      session = await createSession(server.baseUrl);
    }, 90_000);

    afterAll(async () => {
      await stopServerProcess(server);
      await proxy?.close();
      await admin?.end();
      await sandbox?.remove();
    });

    /** pg_terminate_backend on this database's backends only: what a restart or reaper does. */
    async function terminateBackends(): Promise<number> {
      const result = await admin.query(
        'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
        [databaseName],
      );
      return result.rowCount ?? 0;
    }

    async function recovered(): Promise<boolean> {
      const [list, viewer, ready] = await Promise.all([
        request(server.baseUrl, '/api/articles?limit=5'),
        request(server.baseUrl, '/api/user', { token: session.token }),
        request(server.baseUrl, '/health/ready'),
      ]);
      return list.status === 200 && viewer.status === 200 && ready.status === 200;
    }

    it('stays up while backends are terminated under load: 200s and 503s, never a 500 or a 401', async () => {
      const load = startLoad(session, 12);
      let terminated = 0;
      for (let round = 0; round < 10; round += 1) {
        await sleep(300);
        terminated += await terminateBackends();
      }
      const answers = await load.stop();

      expect(terminated).toBeGreaterThan(0);
      expect(server.child.exitCode).toBeNull();
      expect(answers.length).toBeGreaterThan(20);
      expectOnly200sAnd503s(answers, server);
      await eventually(recovered);
      expect(server.logs()).not.toMatch(/TypeError|unhandled error|uncaught/i);
    }, 90_000);

    it('answers 503 with Retry-After within the bound while the database refuses connections, and recovers', async () => {
      const load = startLoad(session, 8);
      await sleep(300);
      await proxy.refuse();
      const outage = await Promise.all(Array.from({ length: 8 }, (_, index) => mixedRequest(session, index)));
      const ready = await request(server.baseUrl, '/health/ready');
      const live = await request(server.baseUrl, '/health/live');
      await proxy.start();
      const answers = await load.stop();

      expect(outage.map(({ status }) => status)).toEqual(Array(8).fill(503));
      for (const answer of outage) expect(answer.ms).toBeLessThan(ANSWER_BOUND_MS);
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({ status: 'unavailable', checks: { database: { status: 'down' } } });
      expect(live.status).toBe(200);
      expectOnly200sAnd503s([...answers, ...outage], server);
      expect(server.child.exitCode).toBeNull();
      await eventually(recovered);
    }, 90_000);

    it('cancels a statement that waits past DATABASE_STATEMENT_TIMEOUT_MS: 503 within the bound', async () => {
      const locker = new pg.Client({ connectionString: sandbox.env.DATABASE_URL });
      await locker.connect();
      try {
        await locker.query('begin');
        await locker.query('lock table articles in access exclusive mode');
        const blocked = await request(server.baseUrl, '/api/articles?limit=5');
        expect(blocked.status).toBe(503);
        expect(blocked.retryAfter).not.toBeNull();
        expect(blocked.ms).toBeLessThan(ANSWER_BOUND_MS);
      } finally {
        await locker.query('rollback');
        await locker.end();
      }
      await eventually(recovered);
    }, 90_000);

    it('answers 503 within the bound when the database host stops answering, and recovers', async () => {
      await proxy.blackhole();
      const outage = await Promise.all(Array.from({ length: 8 }, (_, index) => mixedRequest(session, index)));
      const ready = await request(server.baseUrl, '/health/ready');
      await proxy.start();

      expect(outage.map(({ status }) => status)).toEqual(Array(8).fill(503));
      for (const answer of outage) expect(answer.ms).toBeLessThan(ANSWER_BOUND_MS);
      expect(ready.status).toBe(503);
      expect(server.child.exitCode).toBeNull();
      await eventually(recovered);
    }, 90_000);
  },
);
