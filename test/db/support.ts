import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { type SQL, sql } from 'drizzle-orm';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { expect } from 'vitest';
import { migrationsFolder } from '../../src/db/migrate.js';
import { testDatabaseKind } from '../support/app.js';

/**
 * For the tests of a migration's backfill: an empty database of the project's kind, migrated up to
 * the version before, filled by hand, then migrated to the end.
 */

export interface Scratch {
  execute(query: SQL): Promise<Record<string, unknown>[]>;
  /** Applies the migrations of `folder` that are not applied yet. */
  migrate(folder: string): Promise<void>;
  close(): Promise<void>;
}

export async function openEmptyDatabase(): Promise<Scratch> {
  if (testDatabaseKind === 'postgres') {
    const adminUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
    const name = `conduit_backfill_${process.pid}_${randomBytes(4).toString('hex')}`;
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name}`);
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    const client = postgres(url.toString(), { max: 1, onnotice: () => {} });
    const db = drizzlePostgres({ client });
    return {
      execute: async (query) => [...(await db.execute(query))],
      migrate: (folder) => migratePostgres(db, { migrationsFolder: folder }),
      close: async () => {
        await client.end();
        await admin.unsafe(`drop database if exists ${name} with (force)`);
        await admin.end();
      },
    };
  }
  const client = await PGlite.create();
  const db = drizzlePglite({ client });
  return {
    execute: async (query) => (await db.execute(query)).rows as Record<string, unknown>[],
    migrate: (folder) => migratePglite(db, { migrationsFolder: folder }),
    close: () => client.close(),
  };
}

/**
 * A copy of the migrations folder that stops after the migration `lastTag` (e.g.
 * `0000_initial_schema`); remove it with `rmSync(folder, { recursive: true })`.
 */
export function migrationsUpTo(lastTag: string): string {
  const folder = mkdtempSync(path.join(tmpdir(), 'conduit-migrations-'));
  cpSync(migrationsFolder, folder, { recursive: true });
  const journalFile = path.join(folder, 'meta/_journal.json');
  const journal = JSON.parse(readFileSync(journalFile, 'utf8'));
  const last = journal.entries.findIndex((entry: { tag: string }) => entry.tag === lastTag);
  expect(last, `no migration ${lastTag}`).toBeGreaterThanOrEqual(0);
  writeFileSync(journalFile, JSON.stringify({ ...journal, entries: journal.entries.slice(0, last + 1) }));
  return folder;
}

export function removeMigrationsCopy(folder: string | undefined): void {
  if (folder) rmSync(folder, { recursive: true, force: true });
}

/**
 * Every article whose `tag_list` differs from its links with their names in `ORDER BY name` (what
 * the list query computed before the column existed): none while the triggers do their job.
 */
export const staleTagLists = sql`select slug, tag_list, linked from (
    select a.slug, a.tag_list, array(
      select t.name from article_tags l join tags t on t.id = l.tag_id
      where l.article_id = a.id order by t.name) as linked
    from articles a) as compared
  where tag_list is distinct from linked`;
