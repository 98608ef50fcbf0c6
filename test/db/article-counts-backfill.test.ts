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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationsFolder } from '../../src/db/migrate.js';
import { testDatabaseKind } from '../support/app.js';

/**
 * A database that already has articles when the article counters arrive: the migration that
 * adds their triggers (0002) must also count what exists, scheduled articles left out.
 */

interface Scratch {
  execute(query: SQL): Promise<Record<string, unknown>[]>;
  /** Applies the migrations of `folder` that are not applied yet. */
  migrate(folder: string): Promise<void>;
  close(): Promise<void>;
}

async function openEmptyDatabase(): Promise<Scratch> {
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

/** A copy of the migrations folder that stops after the first migration. */
function firstMigrationOnly(): string {
  const folder = mkdtempSync(path.join(tmpdir(), 'conduit-migrations-'));
  cpSync(migrationsFolder, folder, { recursive: true });
  const journalFile = path.join(folder, 'meta/_journal.json');
  const journal = JSON.parse(readFileSync(journalFile, 'utf8'));
  expect(journal.entries[0].tag).toBe('0000_initial_schema');
  writeFileSync(journalFile, JSON.stringify({ ...journal, entries: journal.entries.slice(0, 1) }));
  return folder;
}

let scratch: Scratch;
let oldFolder: string;

beforeAll(async () => {
  scratch = await openEmptyDatabase();
  oldFolder = firstMigrationOnly();
  await scratch.migrate(oldFolder);
  await scratch.execute(sql`insert into users (username, email, password_hash)
    values ('ann', 'ann@example.com', 'x'), ('bob', 'bob@example.com', 'x')`);
  await scratch.execute(sql`insert into tags (name) values ('red'), ('green'), ('unused')`);
  // Four published articles and two scheduled ones.
  await scratch.execute(sql`insert into articles (slug, title, description, body, author_id, published_at, publish_at)
    select 'a' || g, 'A', 'd', 'b', (select min(id) from users),
      case when g <= 4 then now() - g * interval '1 day' end,
      case when g > 4 then now() + interval '1 day' end
    from generate_series(1, 6) g`);
  // red: a1 a2 a3 and scheduled a5; green: a3 and scheduled a5, a6.
  await scratch.execute(sql`insert into article_tags (article_id, tag_id)
    select a.id, t.id from articles a, tags t
    where (t.name = 'red' and a.slug in ('a1', 'a2', 'a3', 'a5'))
       or (t.name = 'green' and a.slug in ('a3', 'a5', 'a6'))`);
}, 60_000);

afterAll(async () => {
  await scratch?.close();
  if (oldFolder) rmSync(oldFolder, { recursive: true, force: true });
});

describe('the article counters migration', () => {
  it('counts the published articles that exist, in all and per tag', async () => {
    await scratch.migrate(migrationsFolder);
    expect(await scratch.execute(sql`select id, published from article_counts`)).toEqual([
      { id: 1, published: 4 },
    ]);
    expect(await scratch.execute(sql`select name, articles_count from tags order by name`)).toEqual([
      { name: 'green', articles_count: 1 },
      { name: 'red', articles_count: 3 },
      { name: 'unused', articles_count: 0 },
    ]);
  });

  it('then keeps them: the triggers are in place', async () => {
    await scratch.execute(sql`update articles set published_at = now() where slug = 'a5'`);
    expect(await scratch.execute(sql`select published from article_counts`)).toEqual([{ published: 5 }]);
    expect(await scratch.execute(sql`select name, articles_count from tags order by name`)).toEqual([
      { name: 'green', articles_count: 2 },
      { name: 'red', articles_count: 4 },
      { name: 'unused', articles_count: 0 },
    ]);
    await scratch.execute(sql`delete from users where username = 'ann'`);
    expect(await scratch.execute(sql`select published from article_counts`)).toEqual([{ published: 0 }]);
    expect(await scratch.execute(sql`select sum(articles_count)::integer as n from tags`)).toEqual([
      { n: 0 },
    ]);
  });
});
