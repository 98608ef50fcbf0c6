import { fileURLToPath } from 'node:url';
import type { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres';
import { migrate as migrateNodePg } from 'drizzle-orm/node-postgres/migrator';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';

export const migrationsFolder = fileURLToPath(new URL('../../migrations', import.meta.url));

/** Any constant shared by every instance of this app; `hashtext('conduit-api:migrate')` would do too. */
const MIGRATION_LOCK_ID = 728_104_331;

/**
 * Applies pending migrations on PostgreSQL under a session-level advisory lock, so several
 * instances starting together take turns: the first migrates, the others find nothing to do.
 * The lock needs a real session: behind a transaction-mode pooler, pass a direct URL
 * (DATABASE_MIGRATION_URL).
 */
export async function migratePostgresDatabase(databaseUrl: string): Promise<void> {
  // One connection: the lock belongs to a session, and every statement must run on it.
  const client = new pg.Client({
    connectionString: databaseUrl,
    connectionTimeoutMillis: 10_000,
    application_name: 'conduit-migrate',
  });
  // A connection lost mid-migration fails the awaited statement; this keeps the event harmless.
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    try {
      await migrateNodePg(drizzleNodePg({ client }), { migrationsFolder });
    } finally {
      await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]);
    }
  } finally {
    await client.end();
  }
}

/** PGlite lives inside one process, so there is nobody to race with. */
export async function migratePgliteDatabase(client: PGlite): Promise<void> {
  await migratePglite(drizzlePglite({ client }), { migrationsFolder });
}
