import type postgres from 'postgres';
import { hashPassword } from '../src/modules/auth/passwords.js';
import { BENCH_PASSWORD, BENCH_USER } from './seed.js';

/**
 * The growth benchmark's data set (bench/growth.ts), written by the database itself: every row
 * comes from `INSERT … SELECT … generate_series`, in chunks of `CHUNK` articles per statement, so
 * 1,000,000 articles take minutes, not one transaction per row. They are ordinary INSERTs into
 * `articles`, `article_tags`, `favorites`, `comments`: the statement triggers keep the counters
 * and `tag_list` whatever they are; nothing here writes a counter.
 *
 * - `USERS` users; the first `AUTHORS` of them write, with a skewed share (author k of n gets
 *   ∝ 1/√k of the articles: a few prolific, a long tail).
 * - `TAGS` tags, 1–3 per article, skewed (`tag000` on ~15 % of articles, `tag149` on ~0.6 %).
 * - Articles in publication order (id order = `published_at` order, 90 s apart, all in the past),
 *   each with a ~1 KB body, its `tag_list` written as the triggers would write it (the triggers
 *   then change no row: rewriting them would leave the heap out of publication order) and its
 *   `favorites_count` written with its favorites (0–19, most 0).
 * - Comments on one article in ten (2 each); 10 follows for each of the first 20,000 users.
 * - The benchmark user (`benchuser`, no articles) follows exactly `FOLLOWED` authors who have
 *   articles when the first chunk is in (chosen by a hash of their id: popular and tail alike).
 *
 * Deterministic (`setseed`), so two runs grow the same data. Every bulk user shares one argon2
 * hash of BENCH_PASSWORD.
 */

export const USERS = 100_000;
export const AUTHORS = 20_000;
export const TAGS = 150;
export const FOLLOWED = 1_000;
const CHUNK = 100_000;
/** Users who follow others (besides the benchmark user), and how many each. */
const FOLLOWERS = 20_000;
const FOLLOWS_EACH = 10;

export interface GrowthSeed {
  benchUserId: number;
  popularTag: string;
}

const BODY = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod. '.repeat(14);

/** Users, tags, the benchmark user and the general follows: once, before the first articles. */
export async function seedPeople(sql: postgres.Sql): Promise<GrowthSeed> {
  const hash = await hashPassword(BENCH_PASSWORD);
  await sql`
    insert into users (username, email, password_hash, bio)
    select 'guser' || n, 'guser' || n || '@example.com', ${hash}, 'Writes and reads, user ' || n
    from generate_series(1, ${USERS}) as n order by n`;
  const [bench] = await sql<{ id: number }[]>`
    insert into users (username, email, password_hash)
    values (${BENCH_USER.username}, ${BENCH_USER.email}, ${hash}) returning id`;
  if (!bench) throw new Error('grow: no benchmark user');
  await sql`
    insert into tags (name)
    select 'tag' || lpad(n::text, 3, '0') from generate_series(0, ${TAGS - 1}) as n order by n`;
  // Readers follow authors, skewed towards the prolific ones.
  await sql`select setseed(0.42)`;
  await sql`
    insert into follows (follower_id, following_id)
    select distinct f.id, a.id
    from (select id, row_number() over (order by id) as k from users where username like 'guser%') as f
    cross join lateral (
      select (select min(id) from users where username like 'guser%')
        + floor(${AUTHORS} * power(random(), 2))::int + 0 * f.id as id
      from generate_series(1, ${FOLLOWS_EACH})
    ) as a
    where f.k <= ${FOLLOWERS} and a.id <> f.id
    on conflict do nothing`;
  return { benchUserId: bench.id, popularTag: 'tag000' };
}

/** Adds articles `from`..`to - 1` (publication index) with their tags, favorites and comments. */
export async function growArticles(sql: postgres.Sql, from: number, to: number): Promise<void> {
  const [range] = await sql<{ first: number }[]>`
    select min(id)::int as first from users where username like 'guser%'`;
  const firstUser = range?.first ?? 1;
  for (let start = from; start < to; start += CHUNK) {
    const end = Math.min(to, start + CHUNK) - 1;
    await sql.begin(async (tx) => {
      await tx`select setseed(${(start % 100_000) / 100_000 - 0.5})`;
      // The chunk's shape: author, tags (as names, sorted as the trigger sorts them), favorites.
      await tx`
        create temp table staged on commit drop as
        select n as idx,
          ${firstUser}::int + floor(${AUTHORS} * power(random(), 2))::int as author_id,
          (select array_agg(t.name order by t.name) from tags as t where t.name = any(picked.names)) as tag_list,
          floor(power(random(), 6) * 20)::int as favorites
        from generate_series(${start}::int, ${end}::int) as n
        cross join lateral (
          select array(
            select distinct 'tag' || lpad(floor(${TAGS} * power(random(), 2))::int::text, 3, '0')
            from generate_series(1, 1 + floor(random() * 3)::int + 0 * n)
          ) as names
        ) as picked`;
      await tx`
        insert into articles (slug, title, description, body, author_id, favorites_count, tag_list,
          created_at, updated_at, published_at)
        select 'growth-' || idx, 'Growth article ' || idx, 'What growth article ' || idx || ' is about',
          'Article ' || idx || '. ' || ${BODY}, author_id, favorites, tag_list,
          t.at, t.at, t.at
        from staged
        cross join lateral (select timestamptz '2022-01-01 00:00:00+00' + idx * interval '90 seconds' as at) as t
        order by idx`;
      await tx`create temp table placed on commit drop as
        select s.*, a.id as article_id from staged as s join articles as a on a.slug = 'growth-' || s.idx`;
      await tx`
        insert into article_tags (article_id, tag_id)
        select p.article_id, t.id from placed as p join tags as t on t.name = any(p.tag_list)
        order by p.article_id, t.id`;
      // Distinct users per article: 4,729 is prime to USERS, so j = 1..19 give 19 different ones.
      await tx`
        insert into favorites (user_id, article_id)
        select ${firstUser}::int + ((p.idx::bigint * 7919 + j * 4729) % ${USERS})::int, p.article_id
        from placed as p cross join lateral generate_series(1, p.favorites) as j`;
      await tx`
        insert into comments (body, article_id, author_id, created_at, updated_at)
        select 'Comment ' || j || ' on article ' || p.idx || ': ' || left(${BODY}, 200), p.article_id,
          ${firstUser}::int + ((p.idx * 31 + j * 977) % ${USERS}), c.at, c.at
        from placed as p cross join generate_series(1, 2) as j
        cross join lateral (select timestamptz '2022-01-01 00:00:00+00' + p.idx * interval '90 seconds'
          + j * interval '1 hour' as at) as c
        where p.idx % 10 = 0`;
    });
  }
}

/** The benchmark user follows exactly FOLLOWED authors who have articles (run after the first chunk). */
export async function followAuthors(sql: postgres.Sql, benchUserId: number): Promise<number> {
  const rows = await sql`
    insert into follows (follower_id, following_id)
    select ${benchUserId}, author_id from (select distinct author_id from articles) as a
    order by md5(author_id::text) limit ${FOLLOWED}
    returning following_id`;
  return rows.length;
}

/** A database that has been running: visibility map current, statistics fresh. */
export async function settle(sql: postgres.Sql): Promise<void> {
  await sql`vacuum analyze`;
}
