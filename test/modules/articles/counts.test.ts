import { count, eq, isNotNull, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { articleCountTotals, articles, articleTags, follows, tags, users } from '../../../src/db/schema.js';
import { publishArticleJobType, publishDueArticlesJobType } from '../../../src/modules/articles/job-types.js';
import { waitFor } from '../../jobs/support.js';
import { createTestApp, sqlRows, type TestApp } from '../../support/app.js';
import { insertUser, type TestUser } from '../../support/users.js';
import { articleId } from './support.js';

/**
 * The list's `articlesCount` without a count: the unfiltered list and `?tag=` read the counters
 * (`article_count_totals`) that triggers keep in the transaction of every change (migrations/0002_…,
 * 0009_…), and the feed reads the sum of its followed authors' counters (`author_article_counts`,
 * 0012_…). Every path that moves a count, through HTTP and the jobs where there is one. The
 * response cache is off: every count read here is the counter.
 */

let t: TestApp;
let author: TestUser;
/** Follows every author of this file, and one who never publishes. */
let reader: TestUser;

beforeAll(async () => {
  t = await createTestApp({ CACHE_ENABLED: 'false' });
  author = await insertUser(t);
  reader = await insertUser(t);
  await follow(author);
  await follow(await insertUser(t));
});

async function follow(followed: TestUser): Promise<void> {
  await t.deps.database.db.insert(follows).values({ followerId: reader.id, followingId: followed.id });
}
afterAll(() => t?.close());

let serial = 0;
/** A tag name no other test uses. */
function tagName(label: string): string {
  serial += 1;
  return `${label}-${serial}-${Math.random().toString(36).slice(2, 6)}`;
}

function inMs(ms: number): string {
  return new Date(Date.now() + ms).toISOString();
}

async function create(
  fields: { tagList?: string[]; publishAt?: string } = {},
  by: TestUser = author,
): Promise<{ slug: string }> {
  serial += 1;
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/articles',
    headers: by.headers,
    payload: { article: { title: `Counted ${serial}`, description: 'd', body: 'b', ...fields } },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().article;
}

async function update(slug: string, fields: { tagList?: string[]; publishAt?: string | null }) {
  const res = await t.app.inject({
    method: 'PUT',
    url: `/api/articles/${encodeURIComponent(slug)}`,
    headers: author.headers,
    payload: { article: fields },
  });
  expect(res.statusCode, res.body).toBe(200);
}

async function remove(slug: string) {
  const res = await t.app.inject({
    method: 'DELETE',
    url: `/api/articles/${encodeURIComponent(slug)}`,
    headers: author.headers,
  });
  expect(res.statusCode, res.body).toBe(204);
}

/** `articlesCount` of `GET /api/articles`, or of `?tag=` when a tag is given. */
async function listed(tag?: string): Promise<number> {
  const query = tag === undefined ? '' : `&tag=${encodeURIComponent(tag)}`;
  const res = await t.app.inject({ method: 'GET', url: `/api/articles?limit=1${query}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().articlesCount;
}

/**
 * `articlesCount` of the reader's `GET /api/articles/feed`: from a page with rows (the total in its
 * statement) and from a page past the end (the total alone); both must agree.
 */
async function feedCount(): Promise<number> {
  const [withRows, pastTheEnd] = await Promise.all(
    [0, 1_000_000].map(async (offset) => {
      const res = await t.app.inject({
        method: 'GET',
        url: `/api/articles/feed?limit=1&offset=${offset}`,
        headers: reader.headers,
      });
      expect(res.statusCode, res.body).toBe(200);
      return res.json().articlesCount as number;
    }),
  );
  expect(pastTheEnd).toBe(withRows);
  return withRows as number;
}

/** The counts an API client sees: all, then each tag given. */
async function counts(...tagNames: string[]): Promise<number[]> {
  return [await listed(), ...(await Promise.all(tagNames.map((tag) => listed(tag))))];
}

/** A scheduled article whose time has come (as if its publish job was due). */
async function makeDue(slug: string): Promise<number> {
  const id = await articleId(t, slug);
  await t.deps.database.db
    .update(articles)
    .set({ publishAt: sql`now() - interval '1 second'` })
    .where(eq(articles.id, id));
  return id;
}

/** Every counter against a real count of the rows, and what the API answers for each. */
async function expectCountersExact(): Promise<void> {
  const db = t.deps.database.db;
  const [published] = await db.select({ n: count() }).from(articles).where(isNotNull(articles.publishedAt));
  const [counter] = await db.select().from(articleCountTotals).where(eq(articleCountTotals.tagId, 0));
  expect(counter?.published).toBe(published?.n);
  expect(await listed()).toBe(published?.n);
  // Plain SQL: Drizzle leaves columns unqualified in a one-table select, which a subquery would
  // resolve against its own tables.
  const perTag = await sqlRows<{ name: string; stored: number; real: number }>(
    db,
    sql`select t.name, coalesce((select c.published from article_count_totals c where c.tag_id = t.id), 0) as stored,
      (select count(*)::integer from article_tags l join articles a on a.id = l.article_id
        where l.tag_id = t.id and a.published_at is not null) as real
    from tags t`,
  );
  expect(perTag.length).toBeGreaterThan(0);
  for (const tag of perTag) expect(tag, tag.name).toMatchObject({ stored: tag.real });
  for (const tag of perTag.slice(0, 20)) expect(await listed(tag.name), tag.name).toBe(tag.real);
  // Each author's counter against their rows (no row: none published; no row for a gone user).
  const perAuthor = await sqlRows<{ id: number; stored: number; real: number }>(
    db,
    sql`select u.id, coalesce(c.published, 0) as stored,
      (select count(*)::integer from articles a where a.author_id = u.id and a.published_at is not null) as real
    from users u left join author_article_counts c on c.author_id = u.id`,
  );
  expect(perAuthor.length).toBeGreaterThan(0);
  for (const row of perAuthor) expect(row, `author ${row.id}`).toMatchObject({ stored: row.real });
  const [followed] = await sqlRows<{ n: number }>(
    db,
    sql`select count(*)::integer as n from articles a
      where a.published_at is not null
        and a.author_id in (select following_id from follows where follower_id = ${reader.id})`,
  );
  expect(await feedCount()).toBe(followed?.n);
}

describe('articlesCount of the unfiltered list and of ?tag=', () => {
  it('counts a create at once; a scheduled one when its delayed job publishes it', async () => {
    const [a, b, c] = [tagName('a'), tagName('b'), tagName('c')];
    const all = await listed();
    const inFeed = await feedCount();
    await create({ tagList: [a, b] });
    expect(await counts(a, b, c)).toEqual([all + 1, 1, 1, 0]);
    expect(await feedCount()).toBe(inFeed + 1);

    const scheduled = await create({ tagList: [a, c], publishAt: inMs(3_600_000) });
    // Not in any list yet, so in no count.
    expect(await counts(a, b, c)).toEqual([all + 1, 1, 1, 0]);
    expect(await feedCount()).toBe(inFeed + 1);

    const id = await makeDue(scheduled.slug);
    await t.deps.jobs.enqueue(publishArticleJobType, { articleId: id });
    await waitFor('the publish job', async () => (await listed(c)) === 1);
    expect(await counts(a, b, c)).toEqual([all + 2, 2, 1, 1]);
    expect(await feedCount()).toBe(inFeed + 2);
    // A replayed job publishes nothing and counts nothing.
    await t.deps.jobs.enqueue(publishArticleJobType, { articleId: id });
    await waitFor('the replay to finish', async () => {
      const { waiting, active } = await t.deps.jobs.counts();
      return waiting + active === 0;
    });
    expect(await counts(a, b, c)).toEqual([all + 2, 2, 1, 1]);
    await expectCountersExact();
  });

  it('counts what the due sweep publishes, several at once', async () => {
    const [d, e] = [tagName('d'), tagName('e')];
    const all = await listed();
    const inFeed = await feedCount();
    const first = await create({ tagList: [d], publishAt: inMs(3_600_000) });
    const second = await create({ tagList: [d, e], publishAt: inMs(3_600_000) });
    const notDue = await create({ tagList: [e], publishAt: inMs(3_600_000) });
    await makeDue(first.slug);
    await makeDue(second.slug);
    await t.deps.jobs.enqueue(publishDueArticlesJobType, {});
    await waitFor('the due sweep', async () => (await listed(d)) === 2);
    expect(await counts(d, e)).toEqual([all + 2, 2, 1]);
    expect(await feedCount()).toBe(inFeed + 2);
    await remove(notDue.slug);
    expect(await counts(d, e)).toEqual([all + 2, 2, 1]);
    await expectCountersExact();
  });

  it('counts a PUT that publishes at once, with the tags it sets in the same request', async () => {
    const [f, g] = [tagName('f'), tagName('g')];
    const all = await listed();
    const inFeed = await feedCount();
    const scheduled = await create({ tagList: [f], publishAt: inMs(3_600_000) });
    // Tags of a scheduled article change no count…
    await update(scheduled.slug, { tagList: [f, g] });
    expect(await counts(f, g)).toEqual([all, 0, 0]);
    expect(await feedCount()).toBe(inFeed);
    // …until it is published, with the tags it has then.
    await update(scheduled.slug, { tagList: [g], publishAt: null });
    expect(await counts(f, g)).toEqual([all + 1, 0, 1]);
    expect(await feedCount()).toBe(inFeed + 1);
    await expectCountersExact();
  });

  it('moves only the tags a PUT adds or removes on a published article', async () => {
    const [h, i, j] = [tagName('h'), tagName('i'), tagName('j')];
    const all = await listed();
    const article = await create({ tagList: [h, i] });
    await create({ tagList: [i] });
    expect(await counts(h, i, j)).toEqual([all + 2, 1, 2, 0]);
    await update(article.slug, { tagList: [i, j] });
    expect(await counts(h, i, j)).toEqual([all + 2, 0, 2, 1]);
    // The same tags again, or none at all.
    await update(article.slug, { tagList: [j, i] });
    expect(await counts(h, i, j)).toEqual([all + 2, 0, 2, 1]);
    await update(article.slug, { tagList: [] });
    expect(await counts(h, i, j)).toEqual([all + 2, 0, 1, 0]);
    await expectCountersExact();
  });

  it('takes a deleted article out of every count; a deleted scheduled one was never in', async () => {
    const k = tagName('k');
    const all = await listed();
    const inFeed = await feedCount();
    const published = await create({ tagList: [k] });
    const scheduled = await create({ tagList: [k], publishAt: inMs(3_600_000) });
    expect(await counts(k)).toEqual([all + 1, 1]);
    await remove(scheduled.slug);
    expect(await counts(k)).toEqual([all + 1, 1]);
    expect(await feedCount()).toBe(inFeed + 1);
    await remove(published.slug);
    expect(await counts(k)).toEqual([all, 0]);
    expect(await feedCount()).toBe(inFeed);
    await expectCountersExact();
  });

  it('takes a deleted user’s articles out (ON DELETE CASCADE, no service involved)', async () => {
    const leaving = await insertUser(t);
    await follow(leaving);
    const [l, m] = [tagName('l'), tagName('m')];
    await create({ tagList: [l] });
    const all = await listed();
    const inFeed = await feedCount();
    await create({ tagList: [l, m] }, leaving);
    await create({ tagList: [m] }, leaving);
    await create({ tagList: [l], publishAt: inMs(3_600_000) }, leaving);
    expect(await counts(l, m)).toEqual([all + 2, 2, 2]);
    expect(await feedCount()).toBe(inFeed + 2);
    await t.deps.database.db.delete(users).where(eq(users.id, leaving.id));
    expect(await counts(l, m)).toEqual([all, 1, 0]);
    expect(await feedCount()).toBe(inFeed);
    // Their counter went with them, and was not written back by their articles' deletion.
    expect(
      await sqlRows(
        t.deps.database.db,
        sql`select * from author_article_counts where author_id = ${leaving.id}`,
      ),
    ).toEqual([]);
    await expectCountersExact();
  });

  it('stays exact under concurrent creates, tag changes and deletes sharing tags (no deadlock)', async () => {
    const [n, o, p, fresh] = ['n', 'o', 'p', 'fresh'].map(tagName) as [string, string, string, string];
    const existing = await Promise.all(
      Array.from({ length: 6 }, (_, index) => create({ tagList: [[n, o, p][index % 3] as string] })),
    );
    const requests = [
      // New articles with tags in every order, some never seen before (created concurrently).
      ...Array.from({ length: 8 }, (_, index) => ({
        method: 'POST' as const,
        url: '/api/articles',
        payload: {
          article: {
            title: `Concurrent ${index}`,
            description: 'd',
            body: 'b',
            tagList: index % 2 === 0 ? [p, o, n, fresh] : [fresh, n, o],
          },
        },
      })),
      // Tag changes in opposite directions, and deletes.
      ...existing.slice(0, 4).map((article, index) => ({
        method: 'PUT' as const,
        url: `/api/articles/${article.slug}`,
        payload: { article: { tagList: index % 2 === 0 ? [n, o, p] : [p, fresh] } },
      })),
      ...existing
        .slice(4)
        .map((article) => ({ method: 'DELETE' as const, url: `/api/articles/${article.slug}` })),
    ];
    const responses = await Promise.all(
      requests.map((request) => t.app.inject({ ...request, headers: author.headers })),
    );
    expect(responses.map((res) => res.statusCode).filter((status) => status >= 300)).toEqual([]);
    await expectCountersExact();
  });

  it('counts bulk inserts and multi-row statements written outside the services', async () => {
    const db = t.deps.database.db;
    const q = tagName('q');
    // Spread over three authors, two of them followed by the reader.
    const [second, unfollowed] = [await insertUser(t), await insertUser(t)];
    await follow(second);
    const authorIds = [author.id, second.id, unfollowed.id];
    const all = await listed();
    const inFeed = await feedCount();
    const [tag] = await db.insert(tags).values({ name: q }).returning({ id: tags.id });
    const rows = await db
      .insert(articles)
      .values(
        Array.from({ length: 300 }, (_, index) => ({
          slug: `bulk-${q}-${index}`,
          title: 'Bulk',
          description: 'd',
          body: 'b',
          authorId: authorIds[(index % 5) % 3] as number,
          // Every third one scheduled.
          ...(index % 3 === 0 ? { publishedAt: null, publishAt: new Date(Date.now() + 3_600_000) } : {}),
        })),
      )
      .returning({ id: articles.id });
    await db.insert(articleTags).values(rows.map((row) => ({ articleId: row.id, tagId: tag?.id ?? 0 })));
    expect(await counts(q)).toEqual([all + 200, 200]);
    await expectCountersExact();
    // Publish every scheduled one in one statement, then unlink half of all in one.
    await db
      .update(articles)
      .set({ publishedAt: sql`now()` })
      .where(sql`${articles.slug} like ${`bulk-${q}-%`}`);
    expect(await counts(q)).toEqual([all + 300, 300]);
    // 300 published, 240 of them by the reader's two authors (index % 5 % 3 is 2 for 60).
    expect(await feedCount()).toBe(inFeed + 240);
    // By hand: unpublish some, and hand some (published or not) to another author.
    await db.execute(sql`update articles set published_at = null
      where slug like ${`bulk-${q}-%`} and id % 7 = 0`);
    await db.execute(sql`update articles set author_id = ${unfollowed.id}
      where slug like ${`bulk-${q}-%`} and id % 4 = 1`);
    await db.execute(sql`update articles set author_id = ${second.id}
      where slug like ${`bulk-${q}-%`} and id % 4 = 2 and author_id = ${unfollowed.id}`);
    await expectCountersExact();
    await db.execute(sql`update articles set published_at = now()
      where slug like ${`bulk-${q}-%`} and published_at is null`);
    expect(await counts(q)).toEqual([all + 300, 300]);
    await expectCountersExact();
    await db.delete(articleTags).where(sql`${articleTags.articleId} in (
      select ${articles.id} from ${articles} where ${articles.slug} like ${`bulk-${q}-%`} and ${articles.id} % 2 = 0)`);
    expect(await counts(q)).toEqual([all + 300, 150]);
    await db.delete(articles).where(sql`${articles.slug} like ${`bulk-${q}-%`}`);
    expect(await counts(q)).toEqual([all, 0]);
    expect(await feedCount()).toBe(inFeed);
    await expectCountersExact();
  });
});
