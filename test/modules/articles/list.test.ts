import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheReads } from '../../../src/cache/namespaces.js';
import { articles } from '../../../src/db/schema.js';
import { preparedStatements } from '../../../src/modules/articles/prepared.js';
import { PAGE_LIMIT_MAX } from '../../../src/modules/articles/schemas.js';
import { waitFor } from '../../jobs/support.js';
import { createTestApp, type TestApp } from '../../support/app.js';
import { insertUser, type TestUser } from '../../support/users.js';
import { type ArticleJson, postArticle } from './support.js';

let t: TestApp;
let ann: TestUser;
let bob: TestUser;
let cat: TestUser;
/** Every article of the fixture, oldest first. */
const created: ArticleJson[] = [];

beforeAll(async () => {
  t = await createTestApp();
  ann = await insertUser(t);
  bob = await insertUser(t);
  cat = await insertUser(t);
  // 14 by ann (every second one also tagged "even"), 11 by bob, interleaved in time.
  const authors = Array.from({ length: 25 }, (_, i) => (i % 2 === 0 || i > 21 ? ann : bob));
  let annCount = 0;
  for (const [i, author] of authors.entries()) {
    if (author === ann) annCount += 1;
    const tagList = author === ann ? (annCount % 2 === 0 ? ['all', 'even'] : ['all']) : ['all', 'bob'];
    created.push(await postArticle(t, author, { title: `Article number ${i}`, tagList }));
  }
  // cat favorites three of ann's and two of bob's, and follows bob.
  const favorite = (article: ArticleJson) =>
    t.app.inject({ method: 'POST', url: `/api/articles/${article.slug}/favorite`, headers: cat.headers });
  const byAnn = created.filter((a) => a.author.username === ann.username);
  const byBob = created.filter((a) => a.author.username === bob.username);
  for (const article of [...byAnn.slice(0, 3), ...byBob.slice(0, 2)]) await favorite(article);
  await t.app.inject({ method: 'POST', url: `/api/profiles/${bob.username}/follow`, headers: cat.headers });
});
afterAll(() => t.close());

async function list(query: string, headers?: { authorization: string }) {
  const res = await t.app.inject({ method: 'GET', url: `/api/articles${query}`, headers });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { articles: ArticleJson[]; articlesCount: number };
}

async function feed(query: string, headers: { authorization: string }) {
  const res = await t.app.inject({ method: 'GET', url: `/api/articles/feed${query}`, headers });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { articles: ArticleJson[]; articlesCount: number };
}

const newestFirst = (items: ArticleJson[]) => [...items].reverse().map((a) => a.slug);
const slugs = (items: ArticleJson[]) => items.map((a) => a.slug);

describe('GET /api/articles', () => {
  it('answers 20 newest first by default, the total count, and no body in list items', async () => {
    const page = await list('');
    expect(page.articlesCount).toBe(25);
    expect(slugs(page.articles)).toEqual(newestFirst(created).slice(0, 20));
    for (const item of page.articles) {
      expect(item).not.toHaveProperty('body');
      expect(Number.isInteger(item.favoritesCount)).toBe(true);
      expect(item.tagList).toEqual([...item.tagList].sort());
    }
  });

  it('pages with limit and offset; the count stays the total', async () => {
    const page = await list('?limit=5&offset=20');
    expect(page.articlesCount).toBe(25);
    expect(slugs(page.articles)).toEqual(newestFirst(created).slice(20, 25));
    const past = await list('?limit=5&offset=25');
    expect(past).toEqual({ articles: [], articlesCount: 25 });
  });

  it.each(['limit=0', 'limit=-1', 'limit=abc', 'limit=1.5', 'offset=-1', 'offset=abc', 'offset=99999999999'])(
    'answers 422 naming the parameter for %s',
    async (query) => {
      const res = await t.app.inject({ method: 'GET', url: `/api/articles?${query}` });
      expect(res.statusCode).toBe(422);
      expect(Object.keys(res.json().errors)).toEqual([query.split('=')[0]]);
    },
  );

  it('filters by tag', async () => {
    const even = created.filter((a) => a.tagList.includes('even'));
    const page = await list('?tag=even');
    expect(page.articlesCount).toBe(even.length);
    expect(slugs(page.articles)).toEqual(newestFirst(even));
    expect(await list('?tag=unknown')).toEqual({ articles: [], articlesCount: 0 });
  });

  it('filters by author, whatever the case of the username', async () => {
    const byAnn = created.filter((a) => a.author.username === ann.username);
    expect(byAnn).toHaveLength(14);
    const page = await list(`?author=${ann.username.toUpperCase()}&limit=100`);
    expect(page.articlesCount).toBe(14);
    expect(slugs(page.articles)).toEqual(newestFirst(byAnn));
    expect(await list('?author=nobody_here')).toEqual({ articles: [], articlesCount: 0 });
  });

  it('filters by the user who favorited, and shows favorited to that user', async () => {
    const page = await list(`?favorited=${cat.username}`, cat.headers);
    expect(page.articlesCount).toBe(5);
    for (const item of page.articles) expect(item).toMatchObject({ favorited: true, favoritesCount: 1 });
    const anonymous = await list(`?favorited=${cat.username}`);
    for (const item of anonymous.articles) expect(item.favorited).toBe(false);
    expect(await list('?favorited=nobody_here')).toEqual({ articles: [], articlesCount: 0 });
  });

  it('combines filters', async () => {
    const bobs = await list(`?favorited=${cat.username}&author=${bob.username}`);
    expect(bobs.articlesCount).toBe(2);
    for (const item of bobs.articles) expect(item.author.username).toBe(bob.username);
    const annEven = created.filter((a) => a.author.username === ann.username && a.tagList.includes('even'));
    const tagged = await list(`?tag=even&author=${ann.username}&limit=3`);
    expect(tagged.articlesCount).toBe(annEven.length);
    expect(slugs(tagged.articles)).toEqual(newestFirst(annEven).slice(0, 3));
    expect((await list(`?tag=bob&author=${ann.username}`)).articlesCount).toBe(0);
  });

  it('fills author.following for the viewer', async () => {
    const page = await list('?limit=100', cat.headers);
    for (const item of page.articles)
      expect(item.author.following).toBe(item.author.username === bob.username);
  });

  it('answers 401 for a bad token', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/api/articles',
      headers: { authorization: 'Token x' },
    });
    expect(res.statusCode).toBe(401);
  });
});

describe('GET /api/articles/feed', () => {
  it("lists the followed authors' articles, newest first, with the total count", async () => {
    const byBob = created.filter((a) => a.author.username === bob.username);
    const page = await feed('', cat.headers);
    expect(page.articlesCount).toBe(11);
    expect(slugs(page.articles)).toEqual(newestFirst(byBob));
    for (const item of page.articles) {
      expect(item).not.toHaveProperty('body');
      expect(item.author).toMatchObject({ username: bob.username, following: true });
    }
    const paged = await feed('?limit=5&offset=10', cat.headers);
    expect(paged.articlesCount).toBe(11);
    expect(slugs(paged.articles)).toEqual(newestFirst(byBob).slice(10));
  });

  it('is empty for someone who follows nobody', async () => {
    expect(await feed('', ann.headers)).toEqual({ articles: [], articlesCount: 0 });
  });

  it('answers 401 without a token and 422 for bad paging', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/api/articles/feed' })).statusCode).toBe(401);
    const bad = await t.app.inject({
      method: 'GET',
      url: '/api/articles/feed?limit=-5',
      headers: cat.headers,
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().errors).toHaveProperty('limit');
  });
});

describe('query count', () => {
  /** SQL of a cache MISS: what the database pays (a HIT costs none, or the viewer's flags). */
  async function countQueries(run: () => Promise<unknown>): Promise<number> {
    await t.app.cache.invalidate([
      ...cacheReads.articleList(),
      ...cacheReads.article(created[0]?.slug ?? ''),
    ]);
    // Each create ran its follow-up job (follower emails) in this process: let those queries
    // finish first, so only the request's own are counted.
    await waitFor('background jobs to finish', async () => {
      const { waiting, active } = await t.deps.jobs.counts();
      return waiting + active === 0;
    });
    t.queries.reset();
    await run();
    return t.queries.count;
  }

  it('costs the same number of SQL queries for a page of 2 and a page of 20 (no N+1)', async () => {
    for (const headers of [undefined, cat.headers]) {
      const small = await countQueries(() => list('?limit=2', headers));
      const large = await countQueries(() => list('?limit=20', headers));
      expect(large).toBe(small);
      // The page with its total, the viewer's flags, and the token's user lookup.
      expect(large).toBe(headers ? 3 : 1);
    }
    const small = await countQueries(() => feed('?limit=2', cat.headers));
    const large = await countQueries(() => feed('?limit=20', cat.headers));
    expect(large).toBe(small);
    expect(large).toBe(3);
  });

  it('answers the unfiltered list with one statement, first page or later, whatever the page size', async () => {
    const everything = await list('?limit=25');
    for (const [query, expected] of [
      ['', everything.articles.slice(0, 20)],
      ['?limit=7', everything.articles.slice(0, 7)],
      ['?limit=7&offset=0', everything.articles.slice(0, 7)],
      ['?limit=7&offset=7', everything.articles.slice(7, 14)],
    ] as const) {
      let body: Awaited<ReturnType<typeof list>> | undefined;
      const statements = await countQueries(async () => {
        body = await list(query);
      });
      expect(body, query).toEqual({ articles: expected, articlesCount: 25 });
      expect(statements, query).toBe(1);
    }
  });

  it('prepares the first page of the unfiltered list once per page size, only for sizes paging accepts', () => {
    const statements = preparedStatements(t.deps.database.db);
    expect(statements.firstPage(7)).toBeDefined();
    expect(statements.firstPage(7)).toBe(statements.firstPage(7));
    // Compared as a boolean: `not.toBe` compares two statements deeply as well, and Drizzle's view
    // proxies (the counter view) make that comparison endless.
    expect(statements.firstPage(7) === statements.firstPage(8)).toBe(false);
    expect(preparedStatements(t.deps.database.db)).toBe(statements);
    for (const refused of [0, -1, 1.5, PAGE_LIMIT_MAX + 1, Number.NaN]) {
      expect(statements.firstPage(refused), String(refused)).toBeUndefined();
    }
  });

  it('asks for the count alone only for a page past the end, and the total is still right', async () => {
    // 25 articles: 14 by ann, 11 by bob; "even" tags 7 of ann's.
    const pastTheEnd: [string, number][] = [
      ['?offset=25', 25],
      [`?author=${ann.username}&offset=14`, 14],
      ['?tag=even&offset=7', 7],
      ['?tag=no-such-tag', 0],
      [`?author=${bob.username}&tag=bob&offset=11`, 11],
    ];
    for (const [query, total] of pastTheEnd) {
      const queries = await countQueries(async () => {
        expect(await list(query), query).toEqual({ articles: [], articlesCount: total });
      });
      expect(queries, query).toBe(2);
    }
  });

  it('reads one article in one query, plus the token user and the viewer flags when signed in', async () => {
    const slug = created[0]?.slug ?? '';
    const anonymous = await countQueries(() => t.app.inject({ method: 'GET', url: `/api/articles/${slug}` }));
    expect(anonymous).toBe(1);
    const signedIn = await countQueries(() =>
      t.app.inject({ method: 'GET', url: `/api/articles/${slug}`, headers: cat.headers }),
    );
    expect(signedIn).toBe(3);
  });

  it('costs the same with filters', async () => {
    const small = await countQueries(() => list(`?limit=1&tag=all&favorited=${cat.username}`, cat.headers));
    const large = await countQueries(() => list(`?limit=50&tag=all&favorited=${cat.username}`, cat.headers));
    expect(large).toBe(small);
  });
});

describe('limit cap', () => {
  it('caps limit at 100', async () => {
    const bulk = await insertUser(t);
    await t.deps.database.db.insert(articles).values(
      Array.from({ length: 110 }, (_, i) => ({
        slug: `bulk-${i}`,
        title: `Bulk ${i}`,
        description: 'd',
        body: 'b',
        authorId: bulk.id,
      })),
    );
    const page = await list(`?author=${bulk.username}&limit=1000`);
    expect(page.articlesCount).toBe(110);
    expect(page.articles).toHaveLength(100);
  });
});
