import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { articles, favorites } from '../../../src/db/schema.js';
import { createTestApp, type TestApp } from '../../support/app.js';
import { insertUser, type TestUser } from '../../support/users.js';
import { postArticle } from './support.js';

let t: TestApp;
let ann: TestUser;
let bob: TestUser;
beforeAll(async () => {
  t = await createTestApp();
  ann = await insertUser(t);
  bob = await insertUser(t);
});
afterAll(() => t.close());

function favorite(method: 'POST' | 'DELETE', slug: string, headers?: { authorization: string }) {
  return t.app.inject({ method, url: `/api/articles/${encodeURIComponent(slug)}/favorite`, headers });
}

/** The denormalised counter and the rows it counts, straight from the database. */
async function stored(slug: string) {
  const db = t.deps.database.db;
  const [row] = await db
    .select({ id: articles.id, count: articles.favoritesCount })
    .from(articles)
    .where(eq(articles.slug, slug));
  if (!row) throw new Error(`no article ${slug}`);
  const rows = await db.select().from(favorites).where(eq(favorites.articleId, row.id));
  return { counter: row.count, rows: rows.length };
}

describe('favorite and unfavorite', () => {
  it('favorites and unfavorites, answering the article with its body, idempotently', async () => {
    const article = await postArticle(t, ann);
    const first = await favorite('POST', article.slug, bob.headers);
    expect(first.statusCode).toBe(200);
    expect(first.json().article).toMatchObject({
      slug: article.slug,
      body: article.body,
      favorited: true,
      favoritesCount: 1,
    });
    const again = await favorite('POST', article.slug, bob.headers);
    expect(again.json().article).toMatchObject({ favorited: true, favoritesCount: 1 });
    expect(await stored(article.slug)).toEqual({ counter: 1, rows: 1 });

    const byAuthor = await favorite('POST', article.slug, ann.headers);
    expect(byAuthor.json().article).toMatchObject({ favorited: true, favoritesCount: 2 });

    const removed = await favorite('DELETE', article.slug, bob.headers);
    expect(removed.statusCode).toBe(200);
    expect(removed.json().article).toMatchObject({ favorited: false, favoritesCount: 1 });
    const removedAgain = await favorite('DELETE', article.slug, bob.headers);
    expect(removedAgain.json().article).toMatchObject({ favorited: false, favoritesCount: 1 });
    expect(await stored(article.slug)).toEqual({ counter: 1, rows: 1 });
  });

  it('keeps favoritesCount exact under concurrent requests', async () => {
    const article = await postArticle(t, ann);
    const fans = await Promise.all(Array.from({ length: 6 }, () => insertUser(t)));
    // Every fan favorites twice at once: twelve racing requests, six real favorites.
    const results = await Promise.all([
      ...fans.flatMap((fan) => [
        favorite('POST', article.slug, fan.headers),
        favorite('POST', article.slug, fan.headers),
      ]),
    ]);
    expect(results.every((res) => res.statusCode === 200)).toBe(true);
    expect(await stored(article.slug)).toEqual({ counter: 6, rows: 6 });

    const [first, second] = fans as [TestUser, TestUser];
    const mixed = await Promise.all([
      favorite('DELETE', article.slug, first.headers),
      favorite('DELETE', article.slug, first.headers),
      favorite('DELETE', article.slug, second.headers),
      favorite('POST', article.slug, bob.headers),
    ]);
    expect(mixed.every((res) => res.statusCode === 200)).toBe(true);
    expect(await stored(article.slug)).toEqual({ counter: 5, rows: 5 });
    const res = await t.app.inject({ method: 'GET', url: `/api/articles/${article.slug}` });
    expect(res.json().article.favoritesCount).toBe(5);
  });

  it('never fails with 500 when the article is deleted while others favorite and comment on it', async () => {
    for (let round = 0; round < 3; round++) {
      const article = await postArticle(t, ann);
      const results = await Promise.all([
        favorite('POST', article.slug, bob.headers),
        t.app.inject({
          method: 'POST',
          url: `/api/articles/${article.slug}/comments`,
          headers: bob.headers,
          payload: { comment: { body: 'racing' } },
        }),
        t.app.inject({ method: 'DELETE', url: `/api/articles/${article.slug}`, headers: ann.headers }),
        favorite('POST', article.slug, ann.headers),
      ]);
      const statuses = results.map((res) => res.statusCode);
      expect(statuses[2]).toBe(204);
      for (const status of [statuses[0], statuses[1], statuses[3]]) expect([200, 404]).toContain(status);
      const gone = await t.app.inject({ method: 'GET', url: `/api/articles/${article.slug}` });
      expect(gone.statusCode).toBe(404);
    }
  });

  it('answers 404 for a missing article and 401 without a token', async () => {
    const article = await postArticle(t, ann);
    for (const method of ['POST', 'DELETE'] as const) {
      expect((await favorite(method, 'no-such-article', bob.headers)).statusCode).toBe(404);
      expect((await favorite(method, article.slug)).statusCode).toBe(401);
      expect((await favorite(method, article.slug, { authorization: 'Token bad' })).statusCode).toBe(401);
    }
  });
});
