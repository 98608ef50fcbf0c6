import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { SQL } from 'drizzle-orm';
import type { FastifyInstance, RouteOptions } from 'fastify';
import type { DestinationStream } from 'pino';
import postgres from 'postgres';
import { inject } from 'vitest';
import { buildApp } from '../../src/app.js';
import { type Config, loadConfig } from '../../src/config.js';
import { type Database, type DatabaseHandle, openDatabase } from '../../src/db/client.js';
import { createDeps, type Deps } from '../../src/deps.js';

/** The rows of raw SQL on either driver (node-postgres and PGlite both answer `{ rows }`). */
export async function sqlRows<Row = Record<string, unknown>>(db: Database, query: SQL): Promise<Row[]> {
  const result = (await db.execute(query)) as { rows: unknown[] };
  return result.rows as Row[];
}

export const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789';

/** Counts SQL statements, so tests can prove "a page costs N queries whatever its size". */
export class QueryCounter {
  readonly queries: string[] = [];
  get count(): number {
    return this.queries.length;
  }
  reset(): void {
    this.queries.length = 0;
  }
}

export interface TestApp {
  app: FastifyInstance;
  deps: Deps;
  config: Config;
  queries: QueryCounter;
  dataDir: string;
  close(): Promise<void>;
}

/** Which database this project runs on: `pglite` or `postgres` (set by vitest.config.ts). */
export const testDatabaseKind = process.env.TEST_DB === 'postgres' ? 'postgres' : 'pglite';

/** Set in the `pgbouncer` project: the app reaches PostgreSQL through this transaction-mode pooler. */
export const testPgbouncerUrl = process.env.TEST_PGBOUNCER_URL;

/** The same database through the pooler (a PgBouncer `*` entry serves every database name). */
export function throughPgbouncer(directUrl: string, pgbouncerUrl: string): string {
  const pooled = new URL(directUrl);
  pooled.host = new URL(pgbouncerUrl).host;
  return pooled.toString();
}

/** A fresh, migrated database of the project's kind, for one test file. */
export async function openTestDatabase(
  dataDir: string,
  onQuery?: (query: string) => void,
): Promise<{
  database: DatabaseHandle;
  databaseUrl?: string;
  directDatabaseUrl?: string;
  drop(): Promise<void>;
}> {
  if (testDatabaseKind === 'postgres') {
    const templateUrl = new URL(inject('postgresTemplateUrl'));
    const template = templateUrl.pathname.slice(1);
    const name = `${template.replace('conduit_template_', 'conduit_test_')}_${randomBytes(4).toString('hex')}`;
    const adminUrl = new URL(templateUrl);
    adminUrl.pathname = '/postgres';
    const admin = postgres(adminUrl.toString(), { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name} template ${template}`);
    const url = new URL(templateUrl);
    url.pathname = `/${name}`;
    const databaseUrl = testPgbouncerUrl
      ? throughPgbouncer(url.toString(), testPgbouncerUrl)
      : url.toString();
    const database = await openDatabase({
      databaseUrl,
      databaseMigrationUrl: url.toString(),
      databasePooler: testPgbouncerUrl ? 'transaction' : 'none',
      // Some suites seed thousands of rows in one statement on a busy CI machine; the fault
      // tests check the production bound on a server process of their own.
      databaseStatementTimeoutMs: 120_000,
      dataDir,
      onQuery,
      poolSize: 5,
    });
    return {
      database,
      databaseUrl,
      directDatabaseUrl: url.toString(),
      drop: async () => {
        await admin.unsafe(`drop database if exists ${name} with (force)`);
        await admin.end();
      },
    };
  }
  const dir = path.join(dataDir, 'pglite');
  cpSync(inject('pgliteTemplateDir'), dir, { recursive: true });
  const pglite = await PGlite.create(dir);
  const database = await openDatabase({ databaseUrl: undefined, dataDir, onQuery, pglite });
  return { database, drop: async () => {} };
}

/**
 * Builds the real app on a fresh database for one test file. `env` adds or overrides
 * environment variables exactly as a user would set them.
 */
export async function createTestApp(
  env: Record<string, string | undefined> = {},
  options: {
    beforeReady?: (app: FastifyInstance) => void;
    logStream?: DestinationStream;
    /** Sees every route as it is registered. */
    onRoute?: (route: RouteOptions) => void;
  } = {},
): Promise<TestApp> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'conduit-test-'));
  const queries = new QueryCounter();
  const { database, databaseUrl, directDatabaseUrl, drop } = await openTestDatabase(dataDir, (query) =>
    queries.queries.push(query),
  );
  const config = loadConfig({
    NODE_ENV: 'test',
    JWT_SECRET: TEST_JWT_SECRET,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    DATABASE_URL: databaseUrl,
    ...(testPgbouncerUrl
      ? { DATABASE_POOLER: 'transaction', DATABASE_MIGRATION_URL: directDatabaseUrl }
      : {}),
    // Test files run in parallel on one Redis, each on its own database: never share cache entries.
    CACHE_KEY_PREFIX: `test:cache:${randomBytes(6).toString('hex')}:`,
    ...env,
  });
  const deps = await createDeps(config, { database });
  const app = await buildApp(deps, { logStream: options.logStream, onRoute: options.onRoute });
  options.beforeReady?.(app);
  await app.ready();
  return {
    app,
    deps,
    config,
    queries,
    dataDir,
    close: async () => {
      await app.close();
      await deps.close();
      await drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A second instance of `t`'s app on the same PostgreSQL database, as another server process would
 * be: its own pool, signer (verified-token memory), viewer batching and in-memory cache.
 */
export async function createSecondInstance(
  t: TestApp,
): Promise<{ app: FastifyInstance; close(): Promise<void> }> {
  if (!t.config.databaseUrl)
    throw new Error('a second instance shares a PostgreSQL database (postgres project)');
  const deps = await createDeps(t.config);
  const app = await buildApp(deps);
  await app.ready();
  return {
    app,
    close: async () => {
      await app.close();
      await deps.close();
    },
  };
}
