import { readFileSync } from 'node:fs';
import path from 'node:path';
import { generateDrizzleJson, generateMigration } from 'drizzle-kit/api';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.js';
import { migrationsFolder } from '../../src/db/migrate.js';
import * as schema from '../../src/db/schema.js';
import { createTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

async function rows(db: Database, query: ReturnType<typeof sql>): Promise<Record<string, unknown>[]> {
  const result = (await db.execute(query)) as unknown as { rows?: Record<string, unknown>[] };
  return result.rows ?? (result as unknown as Record<string, unknown>[]);
}

/**
 * Everything that makes up a schema's tables, as sorted text with the schema name taken out.
 * Views, like functions and triggers, come from custom migrations (schema.ts declares them
 * `.existing()`), so only tables are compared.
 */
async function describeSchema(db: Database, name: string): Promise<string[]> {
  const parts = await Promise.all([
    rows(
      db,
      sql`select table_name || '.' || column_name || ' ' || data_type || ' ' || coalesce(udt_name, '') || ' null=' ||
        is_nullable || ' default=' || coalesce(column_default, '') || ' identity=' || is_identity as line
        from information_schema.columns where table_schema = ${name}
        and table_name in (select table_name from information_schema.tables
          where table_schema = ${name} and table_type = 'BASE TABLE')`,
    ),
    rows(
      db,
      sql`select c.relname || ' ' || con.conname || ' ' || pg_get_constraintdef(con.oid) as line
        from pg_constraint con join pg_class c on c.oid = con.conrelid join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = ${name}`,
    ),
    rows(db, sql`select indexname || ' ' || indexdef as line from pg_indexes where schemaname = ${name}`),
    rows(
      db,
      sql`select t.typname || ' ' || string_agg(e.enumlabel, ',' order by e.enumsortorder) as line
        from pg_type t join pg_enum e on e.enumtypid = t.oid join pg_namespace n on n.oid = t.typnamespace
        where n.nspname = ${name} group by t.typname`,
    ),
  ]);
  return parts
    .flat()
    .map((row) => String(row.line).replaceAll(`"${name}".`, '').replaceAll(`${name}.`, ''))
    .sort();
}

describe('migrations', () => {
  it('produce exactly the schema in src/db/schema.ts (no drift against the live database)', async () => {
    const { db } = t.deps.database;
    // Build the schema straight from schema.ts, in a scratch namespace of the same database…
    const statements = await generateMigration(generateDrizzleJson({}), generateDrizzleJson(schema));
    await db.execute(sql.raw('create schema from_schema_ts'));
    try {
      await db.transaction(async (tx) => {
        await tx.execute(sql.raw('set local search_path to from_schema_ts'));
        for (const statement of statements) {
          await tx.execute(sql.raw(statement.replaceAll('"public".', '"from_schema_ts".')));
        }
      });
      // …and compare it, column by column, constraint by constraint, with what the migrations built.
      const migrated = await describeSchema(db, 'public');
      const declared = await describeSchema(db, 'from_schema_ts');
      expect(migrated.length).toBeGreaterThan(50);
      expect(migrated).toEqual(declared);
    } finally {
      await db.execute(sql.raw('drop schema from_schema_ts cascade'));
    }
  });

  it('have a snapshot that matches schema.ts (npm run db:generate would create nothing)', async () => {
    const journal = JSON.parse(readFileSync(path.join(migrationsFolder, 'meta/_journal.json'), 'utf8'));
    const last = journal.entries.at(-1);
    const index = String(last.idx).padStart(4, '0');
    const snapshot = JSON.parse(
      readFileSync(path.join(migrationsFolder, `meta/${index}_snapshot.json`), 'utf8'),
    );
    const current = generateDrizzleJson(schema, snapshot.id);
    expect(await generateMigration(snapshot, current)).toEqual([]);
  });

  it('are idempotent: applying them again changes nothing', async () => {
    const before = await describeSchema(t.deps.database.db, 'public');
    await t.deps.database.migrate();
    expect(await describeSchema(t.deps.database.db, 'public')).toEqual(before);
  });

  it('enforce case-insensitive uniqueness of email and username', async () => {
    const { db } = t.deps.database;
    await db.insert(schema.users).values({ email: 'a@example.com', username: 'Alice', passwordHash: 'x' });
    await expect(
      db.insert(schema.users).values({ email: 'A@EXAMPLE.com', username: 'other', passwordHash: 'x' }),
    ).rejects.toThrow();
    await expect(
      db.insert(schema.users).values({ email: 'b@example.com', username: 'alice', passwordHash: 'x' }),
    ).rejects.toThrow();
  });

  it('cascade deletes from users to their articles, comments and favorites', async () => {
    const { db } = t.deps.database;
    const [author] = await db
      .insert(schema.users)
      .values({ email: 'c@example.com', username: 'carol', passwordHash: 'x' })
      .returning();
    if (!author) throw new Error('no user');
    const [article] = await db
      .insert(schema.articles)
      .values({ slug: 's', title: 't', description: 'd', body: 'b', authorId: author.id })
      .returning();
    if (!article) throw new Error('no article');
    await db.insert(schema.comments).values({ body: 'hi', articleId: article.id, authorId: author.id });
    await db.insert(schema.favorites).values({ userId: author.id, articleId: article.id });
    await db.delete(schema.users).where(sql`${schema.users.id} = ${author.id}`);
    const counts = await Promise.all(
      [schema.articles, schema.comments, schema.favorites].map((table) => db.$count(table)),
    );
    expect(counts).toEqual([0, 0, 0]);
  });
});
