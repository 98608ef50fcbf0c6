/**
 * node-postgres (the driver) against postgres.js (the one before it) under Drizzle, in one
 * process, on one database, in alternating rounds, so the machine's load moves both alike:
 *
 *   npx tsx bench/drivers.ts          # BENCH_DATABASE_URL, DRIVER_ROUNDS (6), DRIVER_SECONDS (2)
 *
 * Two prepared statements, as the API runs them: the viewer lookup (`id = any($1)`) and a page
 * of 20 articles with their authors, 32 in flight on a pool of 10 each. Prints queries/s per
 * round and the medians.
 */
import { randomBytes } from 'node:crypto';
import { desc, eq, sql } from 'drizzle-orm';
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import pg from 'pg';
import postgres from 'postgres';
import { migratePostgresDatabase } from '../src/db/migrate.js';
import * as schema from '../src/db/schema.js';

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ROUNDS = Number(process.env.DRIVER_ROUNDS ?? 6);
const SECONDS = Number(process.env.DRIVER_SECONDS ?? 2);
const IN_FLIGHT = 32;

type Db = ReturnType<typeof drizzleNodePg<typeof schema>>;

function statements(db: Db) {
  const viewers = db
    .select({ id: schema.users.id, username: schema.users.username, role: schema.users.role })
    .from(schema.users)
    .where(sql`${schema.users.id} = any(${sql.placeholder('ids')})`)
    .prepare('bench_viewers');
  const page = db
    .select({
      slug: schema.articles.slug,
      title: schema.articles.title,
      description: schema.articles.description,
      createdAt: schema.articles.createdAt,
      username: schema.users.username,
    })
    .from(schema.articles)
    .innerJoin(schema.users, eq(schema.users.id, schema.articles.authorId))
    .orderBy(desc(schema.articles.id))
    .limit(20)
    .prepare('bench_page');
  return {
    viewer: () => viewers.execute({ ids: [1 + Math.floor(Math.random() * 1000)] }),
    page: () => page.execute(),
  };
}

async function rate(run: () => Promise<unknown>): Promise<number> {
  const until = performance.now() + SECONDS * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (performance.now() < until) {
        await run();
        done += 1;
      }
    }),
  );
  return done / SECONDS;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};

const name = `conduit_drivers_${randomBytes(4).toString('hex')}`;
const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
await admin.unsafe(`create database ${name}`);
const url = new URL(ADMIN_URL);
url.pathname = `/${name}`;
try {
  await migratePostgresDatabase(url.toString());
  const seed = postgres(url.toString(), { max: 1, onnotice: () => {} });
  await seed.unsafe(`
    insert into users (username, email, password_hash)
      select 'user' || i, 'user' || i || '@example.com', 'x' from generate_series(1, 1000) i;
    insert into articles (slug, title, description, body, author_id)
      select 'article-' || i, 'Article ' || i, 'about ' || i, 'body', 1 + i % 1000
      from generate_series(1, 5000) i;`);
  await seed.unsafe('vacuum analyze');
  await seed.end();

  const pool = new pg.Pool({ connectionString: url.toString(), max: 10 });
  const client = postgres(url.toString(), { max: 10, onnotice: () => {} });
  const drivers = {
    'node-postgres': statements(drizzleNodePg({ client: pool, schema })),
    'postgres.js': statements(drizzlePostgres({ client, schema }) as unknown as Db),
  };
  const results: Record<string, number[]> = {};
  for (let round = 0; round < ROUNDS; round += 1) {
    // Alternate which driver goes first, so neither always meets the warmer (or busier) moment.
    const order =
      round % 2 ? (['postgres.js', 'node-postgres'] as const) : (['node-postgres', 'postgres.js'] as const);
    for (const driver of order) {
      for (const query of ['viewer', 'page'] as const) {
        const key = `${query} ${driver}`;
        const value = await rate(drivers[driver][query]);
        if (round > 0) results[key] = [...(results[key] ?? []), value]; // round 0 warms up
      }
    }
  }
  for (const [key, values] of Object.entries(results)) {
    console.log(`${key}: median ${Math.round(median(values))} q/s (${values.map(Math.round).join(', ')})`);
  }
  for (const query of ['viewer', 'page']) {
    const ratio =
      median(results[`${query} node-postgres`] ?? []) / median(results[`${query} postgres.js`] ?? []);
    console.log(`${query}: node-postgres / postgres.js = ${ratio.toFixed(2)}`);
  }
  await pool.end();
  await client.end();
} finally {
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.end();
}
