import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migratePostgresDatabase } from '../../src/db/migrate.js';
import { testDatabaseKind } from '../support/app.js';

// The advisory lock only matters on PostgreSQL (PGlite is single-process).
describe.runIf(testDatabaseKind === 'postgres')('concurrent migrations on PostgreSQL', () => {
  const adminUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `conduit_race_${process.pid}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;

  beforeAll(async () => {
    await admin.unsafe(`drop database if exists ${name}`);
    await admin.unsafe(`create database ${name}`);
  });
  afterAll(async () => {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  });

  it('lets several instances start at once: one migrates, the others wait and find nothing to do', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 4 }, () => migratePostgresDatabase(url.toString())),
    );
    expect(results.map((result) => result.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'fulfilled',
    ]);
    const db = postgres(url.toString(), { max: 1 });
    try {
      const applied = await db`select count(*)::int as n from drizzle.__drizzle_migrations`;
      const journal = await import('../../migrations/meta/_journal.json', { with: { type: 'json' } });
      expect(applied[0]?.n).toBe(journal.default.entries.length);
      const tables =
        await db`select count(*)::int as n from information_schema.tables where table_schema = 'public'`;
      expect(tables[0]?.n).toBeGreaterThanOrEqual(8);
    } finally {
      await db.end();
    }
  });
});
