import { type SQL, sql, TransactionRollbackError } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ArticleFilter,
  articleCountQuery,
  articlePageQuery,
  listArticles,
} from '../../../src/modules/articles/queries.js';
import { totalAloneQuery } from '../../../src/modules/articles/query-builders.js';
import { createTestApp, sqlRows, type TestApp } from '../../support/app.js';
import { insertUser, type TestUser } from '../../support/users.js';

/**
 * The plans behind "fast on 100k articles" (docs/QUERIES.md): on a seeded database, neither the
 * page nor the count query of the feed or of any filter reads a whole table.
 */

let t: TestApp;
let viewer: TestUser;

beforeAll(async () => {
  t = await createTestApp();
  viewer = await insertUser(t, { username: 'viewer' });
  const db = t.deps.database.db;
  await db.execute(sql`insert into users (username, email, password_hash)
    select 'seed_' || g, 'seed_' || g || '@example.com', 'x' from generate_series(1, 1000) g`);
  await db.execute(sql`insert into articles (slug, title, description, body, author_id, created_at, updated_at, published_at)
    select 'seed-' || g, 'Seed ' || g, 'description', 'body', first.id + g % 1000,
           now() - g * interval '1 minute', now() - g * interval '1 minute', now() - g * interval '1 minute'
    from generate_series(1, 100000) g, (select min(id) as id from users where username like 'seed\\_%') first`);
  // A few scheduled (unpublished) articles, as in real use: lists must skip them without a sort.
  await db.execute(sql`insert into articles (slug, title, description, body, author_id, published_at, publish_at)
    select 'scheduled-' || g, 'Scheduled ' || g, 'description', 'body', ${viewer.id}, null, now() + g * interval '1 hour'
    from generate_series(1, 100) g`);
  await db.execute(sql`insert into tags (name) select 'tag' || g from generate_series(0, 199) g`);
  await db.execute(sql`insert into article_tags (article_id, tag_id)
    select a.id, t.id from articles a join tags t on t.name = 'tag' || (a.id % 200)`);
  await db.execute(sql`insert into article_tags (article_id, tag_id)
    select a.id, t.id from articles a join tags t on t.name = 'tag' || ((a.id * 7 + 3) % 200)
    on conflict do nothing`);
  // Skewed tags, as real tag clouds are: "popular" on every second article, a long tail
  // ("tail<k>" on 10·k articles, the planner's statistics see most of them) and "rare" on the 5
  // oldest articles.
  await db.execute(sql`insert into tags (name) values ('popular'), ('rare')`);
  await db.execute(sql`insert into article_tags (article_id, tag_id)
    select a.id, t.id from articles a, tags t where t.name = 'popular' and a.id % 2 = 0`);
  await db.execute(sql`insert into article_tags (article_id, tag_id)
    select a.id, t.id from (select id from articles order by published_at limit 5) a, tags t
    where t.name = 'rare'`);
  await db.execute(sql`insert into tags (name) select 'tail' || k from generate_series(1, 30) k`);
  await db.execute(sql`insert into article_tags (article_id, tag_id)
    select a.first + (k * 7919 + n * 104729) % 100000, t.id
    from generate_series(1, 30) k, generate_series(1, 300) n, tags t, (select min(id) as first from articles) a
    where t.name = 'tail' || k and n <= 10 * k on conflict do nothing`);
  // Realistic neighbours: every seed user favorites 100 articles and follows 50 users.
  await db.execute(sql`insert into favorites (user_id, article_id)
    select u.id, a.first + (u.id * 997 + k * 1009) % 100000
    from users u, generate_series(1, 100) k, (select min(id) as first from articles) a
    where u.username like 'seed\\_%' on conflict do nothing`);
  await db.execute(sql`insert into follows (follower_id, following_id)
    select u.id, f.first + (u.id * 31 + k * 19) % 1000
    from users u, generate_series(1, 50) k, (select min(id) as first from users where username like 'seed\\_%') f
    where u.username like 'seed\\_%' and u.id <> f.first + (u.id * 31 + k * 19) % 1000 on conflict do nothing`);
  // The viewer favorites 500 articles and follows 50 authors spread over the id range.
  await db.execute(sql`insert into favorites (user_id, article_id)
    select ${viewer.id}, id from articles where id % 200 = 0`);
  await db.execute(sql`insert into follows (follower_id, following_id)
    select ${viewer.id}, id from users where username like 'seed\\_%' and id % 20 = 0`);
  await db.execute(sql`vacuum analyze`);
}, 180_000);
afterAll(() => t.close());

async function explain(query: { getSQL(): SQL }): Promise<string> {
  // PRINT_PLANS=analyze prints measured plans (how docs/QUERIES.md was made).
  const verb = process.env.PRINT_PLANS === 'analyze' ? sql`explain (analyze, buffers)` : sql`explain`;
  const rows = await sqlRows<Record<string, string>>(t.deps.database.db, sql`${verb} ${query.getSQL()}`);
  return rows.map((row) => Object.values(row)[0]).join('\n');
}

const FULL_SCANS = /Seq Scan on (articles|article_tags|favorites|follows|comments)\b/;

describe('query plans on 100k articles', () => {
  const cases: [string, (viewerId: number) => ArticleFilter][] = [
    ['feed', (viewerId) => ({ followedBy: viewerId, limit: 20, offset: 0 })],
    ['tag', () => ({ tag: 'tag42', limit: 20, offset: 0 })],
    ['author', () => ({ author: 'seed_7', limit: 20, offset: 0 })],
    ['favorited', () => ({ favorited: 'viewer', limit: 20, offset: 0 })],
    ['tag + author', () => ({ tag: 'tag7', author: 'seed_7', limit: 20, offset: 0 })],
  ];

  it.each(cases)('%s: page and count use indexes, no full scan', async (_, makeFilter) => {
    const filter = makeFilter(viewer.id);
    const db = t.deps.database.db;
    const page = await explain(articlePageQuery(db, filter));
    const total = await explain(articleCountQuery(db, filter));
    expect(page).not.toMatch(FULL_SCANS);
    expect(total).not.toMatch(FULL_SCANS);
    if (process.env.PRINT_PLANS) console.log(`--- ${_} page\n${page}\n--- ${_} count\n${total}`);
  });

  it('serves the unfiltered list newest published first straight from articles_published_at_idx', async () => {
    const filter = { limit: 20, offset: 0 };
    const page = await explain(articlePageQuery(t.deps.database.db, filter));
    // The page's ids from the index alone; only their 20 rows are read.
    expect(page).toMatch(/Index Only Scan Backward using articles_published_at_idx/);
    expect(page).not.toMatch(/Sort Key: /);
    if (process.env.PRINT_PLANS) console.log(`--- none page\n${page}`);
  });

  it('skips the rows of a deep page in the index: it reads, joins and sorts only the page', async () => {
    const filter = { limit: 20, offset: 10_000 };
    const page = await explain(articlePageQuery(t.deps.database.db, filter));
    expect(page).toMatch(/Index Only Scan Backward using articles_published_at_idx/);
    expect(page).not.toMatch(/Sort Key: /);
    expect(page).not.toMatch(FULL_SCANS);
    if (process.env.PRINT_PLANS) console.log(`--- offset 10000 page\n${page}`);
  });

  it('serves a popular tag from the publication order and a rare one from the tag_list index', async () => {
    const db = t.deps.database.db;
    const popular = await explain(articlePageQuery(db, { tag: 'popular', limit: 20, offset: 0 }));
    // 20 of every 40 rows match: walking the newest first finds them at once, with no sort, and
    // from the index alone (it carries tag_list).
    expect(popular).toMatch(/Index Only Scan Backward using articles_published_at_idx/);
    expect(popular).not.toMatch(/Sort Key: articles\.published_at/);
    const rare = await explain(articlePageQuery(db, { tag: 'rare', limit: 20, offset: 0 }));
    // 5 rows, the oldest: the walk above would read all 100,000 to find them.
    expect(rare).toMatch(/articles_tag_list_idx/);
    expect(rare).not.toMatch(/Index (Only )?Scan Backward using articles_published_at_idx/);
    if (process.env.PRINT_PLANS) console.log(`--- popular tag page\n${popular}\n--- rare tag page\n${rare}`);
    expect((await listArticles(db, { tag: 'rare', limit: 20, offset: 0 })).articles).toHaveLength(5);
  });

  it('counts the unfiltered list and ?tag= without counting rows: the counters the triggers keep', async () => {
    const db = t.deps.database.db;
    // Each counter is moved 1,000 away from the rows it counts, in a transaction rolled back
    // afterwards: a total that comes out 1,000 above the rows' count was read from the counter,
    // never counted (a count(*) reads every matching row). A page with rows carries the counter
    // in its statement; an empty one reads the counter row alone.
    const skew = 1000;
    for (const [filter, statements] of [
      [{}, 1],
      [{ tag: 'tag42' }, 1],
      [{ tag: 'tag-without-articles' }, 2],
    ] as const) {
      const [real] = await articleCountQuery(db, { ...filter, limit: 20, offset: 0 });
      await db
        .transaction(async (tx) => {
          await tx.execute(sql`insert into tags (name) values ('tag-without-articles')`);
          // A shard of its own for each counter (shard -1 is no backend's), as a writer's would be.
          await tx.execute(sql`insert into article_count_shards (tag_id, shard, published)
            select 0, -1, ${skew}::integer
            union all select id, -1, ${skew}::integer from tags where name in ('tag42', 'tag-without-articles')`);
          t.queries.reset();
          const { articlesCount } = await listArticles(tx, { ...filter, limit: 20, offset: 0 });
          expect(t.queries.count).toBe(statements);
          expect(articlesCount).toBe((real?.count ?? 0) + skew);
          tx.rollback();
        })
        .catch((error: unknown) => {
          if (!(error instanceof TransactionRollbackError)) throw error;
        });
    }
    // 100,000 published (the 100 scheduled left out), 1,000 per tag, inserted in bulk.
    expect((await listArticles(db, { limit: 1, offset: 0 })).articlesCount).toBe(100_000);
  });

  it('sums the feed’s total from the followed authors’ counters, one primary-key lookup per follow', async () => {
    const db = t.deps.database.db;
    const filter = { followedBy: viewer.id, limit: 20, offset: 0 };
    const total = await explain(totalAloneQuery(db, filter));
    expect(total).toMatch(/Index Only Scan using follows_pkey on follows/);
    expect(total).toMatch(/Index Scan using author_article_counts_pkey on author_article_counts/);
    expect(total).not.toMatch(/Seq Scan on author_article_counts|Hash Join|articles_author_published_at_idx/);
    const page = await explain(articlePageQuery(db, filter));
    expect(page).toMatch(/author_article_counts_pkey/);
    expect(page).not.toMatch(/Seq Scan on author_article_counts/);
    if (process.env.PRINT_PLANS) console.log(`--- feed total\n${total}`);
    // One followed author's counter moved 1,000 away from their rows, rolled back afterwards: both
    // the page's total and the total alone (a page past the end) come out 1,000 above the count.
    const [real] = await articleCountQuery(db, filter);
    const skew = 1000;
    await db
      .transaction(async (tx) => {
        await tx.execute(sql`update author_article_counts set published = published + ${skew}::integer
          where author_id = (select min(following_id) from follows where follower_id = ${viewer.id})`);
        for (const offset of [0, 1_000_000]) {
          const { articlesCount } = await listArticles(tx, { ...filter, offset });
          expect(articlesCount).toBe((real?.count ?? 0) + skew);
        }
        tx.rollback();
      })
      .catch((error: unknown) => {
        if (!(error instanceof TransactionRollbackError)) throw error;
      });
    expect((await listArticles(db, filter)).articlesCount).toBe(real?.count);
  });

  it('serves the feed through the follows and articles indexes', async () => {
    const plan = await explain(
      articlePageQuery(t.deps.database.db, cases[0]?.[1](viewer.id) as ArticleFilter),
    );
    expect(plan).toMatch(/follows_pkey|articles_author_published_at_idx|articles_published_at_idx/);
  });
});
