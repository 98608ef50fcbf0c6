import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import pg from 'pg';
import { migratePgliteDatabase, migratePostgresDatabase } from './migrate.js';
import * as schema from './schema.js';

/** One type for both drivers: services only use the query builder, never driver specifics. */
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;
export type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];
/** Anything that runs queries: the database or an open transaction. */
export type Queryable = Database | Transaction;

export interface DatabaseHandle {
  readonly db: Database;
  readonly kind: 'pglite' | 'postgres';
  /** Applies pending migrations from the committed migrations folder. */
  migrate(): Promise<void>;
  /** A trivial round trip, for readiness. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** `transaction`: a transaction-mode pooler (PgBouncer) sits between the API and PostgreSQL. */
export type DatabasePooler = 'none' | 'transaction';

export interface DatabaseOptions {
  /** PostgreSQL URL; unset → PGlite persisted under `dataDir/pglite`. */
  databaseUrl: string | undefined;
  /** Migrations run on this URL (a direct one when `databaseUrl` goes through a pooler). */
  databaseMigrationUrl?: string | undefined;
  dataDir: string;
  poolSize?: number;
  databasePooler?: DatabasePooler;
  /** Bound of opening a connection and of waiting for a free one in the pool. */
  databaseConnectTimeoutMs?: number;
  /** Bound of one statement (server-side statement_timeout, and a client-side backstop). */
  databaseStatementTimeoutMs?: number;
  /** `application_name` of every connection, so operators (and tests) can find its backends. */
  applicationName?: string;
  /** Called for every SQL statement (tests count queries with it). */
  onQuery?: (query: string) => void;
  /** An already opened PGlite (tests copy a migrated template instead of running initdb). */
  pglite?: PGlite;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
const DEFAULT_STATEMENT_TIMEOUT_MS = 10_000;

/**
 * A client that never names its statements. Behind a transaction-mode pooler consecutive
 * statements of one client run on different server connections, so a statement prepared under a
 * name on one is missing (or is another one) on the next. Unnamed statements are parsed with
 * every execution and live only for it.
 */
class UnnamedStatementClient extends pg.Client {}
const namedQuery = pg.Client.prototype.query;
UnnamedStatementClient.prototype.query = function (this: pg.Client, config: unknown, ...rest: unknown[]) {
  let unnamed = config;
  if (config !== null && typeof config === 'object' && 'name' in config) {
    const { name: _name, ...withoutName } = config;
    unnamed = withoutName;
  }
  return Reflect.apply(namedQuery, this, [unnamed, ...rest]);
} as pg.Client['query'];

function openPostgresPool(databaseUrl: string, options: DatabaseOptions): pg.Pool {
  const pooler = options.databasePooler ?? 'none';
  const connectTimeoutMs = options.databaseConnectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const statementTimeoutMs = options.databaseStatementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: options.poolSize ?? 10,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: connectTimeoutMs,
    application_name: options.applicationName ?? 'conduit-api',
    keepAlive: true,
    // PgBouncer 1.18 refuses unknown startup parameters, statement_timeout among them: behind it
    // the server-side bound is the role's or database's setting (docs/OPERATIONS.md).
    ...(pooler === 'none' ? { statement_timeout: statementTimeoutMs } : {}),
    // The client-side bound also holds when the server or the network stops answering.
    query_timeout: pooler === 'none' ? statementTimeoutMs + 1000 : statementTimeoutMs,
    ...(pooler === 'transaction' ? { Client: UnnamedStatementClient } : {}),
  });
  // Without these listeners a backend that dies (restart, failover, pg_terminate_backend) would
  // emit 'error' on an idle pooled client or on one checked out by a transaction, and an
  // EventEmitter 'error' without a listener kills the process. The query in flight fails on its
  // own and answers 503 (src/db/errors.ts); the pool drops the broken client and opens a new one.
  pool.on('error', () => {});
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  return pool;
}

export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  const logger = options.onQuery ? { logQuery: (query: string) => options.onQuery?.(query) } : undefined;

  const databaseUrl = options.databaseUrl;
  if (databaseUrl) {
    const pool = openPostgresPool(databaseUrl, options);
    const db = drizzleNodePg({ client: pool, schema, logger }) as unknown as Database;
    const migrationUrl = options.databaseMigrationUrl ?? databaseUrl;
    return {
      db,
      kind: 'postgres',
      migrate: async () => {
        // The migration lock is session-level: a transaction pooler would leave it held.
        if (options.databasePooler === 'transaction' && !options.databaseMigrationUrl) {
          throw new Error('behind DATABASE_POOLER=transaction, migrations need DATABASE_MIGRATION_URL');
        }
        await migratePostgresDatabase(migrationUrl);
      },
      ping: async () => {
        await pool.query('select 1');
      },
      close: () => pool.end(),
    };
  }

  let pglite = options.pglite;
  if (!pglite) {
    const dir = path.join(options.dataDir, 'pglite');
    mkdirSync(dir, { recursive: true });
    pglite = await PGlite.create(dir);
  }
  const client = pglite;
  const db = drizzlePglite({ client, schema, logger }) as unknown as Database;
  return {
    db,
    kind: 'pglite',
    migrate: () => migratePgliteDatabase(client),
    ping: async () => {
      await client.query('select 1');
    },
    close: () => client.close(),
  };
}
