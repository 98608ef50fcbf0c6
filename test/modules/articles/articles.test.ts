import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { articles, articleTags, comments, favorites, tags } from '../../../src/db/schema.js';
import { createTestApp, type TestApp } from '../../support/app.js';
import { insertUser, type TestUser } from '../../support/users.js';
import { postArticle } from './support.js';

let t: TestApp;
let ann: TestUser;
let bob: TestUser;
beforeAll(async () => {
  t = await createTestApp();
  ann = await insertUser(t, { bio: 'ann bio' });
  bob = await insertUser(t);
});
afterAll(() => t.close());

const url = (slug: string) => `/api/articles/${encodeURIComponent(slug)}`;

describe('POST /api/articles', () => {
  it('creates an article (201) with a slug, sorted tags, integer counts and ISO dates', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/articles',
      headers: ann.headers,
      payload: {
        article: {
          title: 'How to train your dragon',
          description: 'Ever wonder how?',
          body: 'You have to believe',
          tagList: ['  training ', 'dragons', 'training', 'Angular', ''],
        },
      },
    });
    expect(res.statusCode).toBe(201);
    const { article } = res.json();
    expect(article).toEqual({
      slug: 'how-to-train-your-dragon',
      title: 'How to train your dragon',
      description: 'Ever wonder how?',
      body: 'You have to believe',
      tagList: ['Angular', 'dragons', 'training'],
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      updatedAt: article.createdAt,
      // Beyond the spec (scheduled publishing): published on creation.
      publishAt: null,
      publishedAt: article.createdAt,
      favorited: false,
      favoritesCount: 0,
      author: {
        username: ann.username,
        bio: 'ann bio',
        image: `${t.config.appUrl}/avatars/default.svg`,
        following: false,
      },
    });
    const fetched = await t.app.inject({ method: 'GET', url: url(article.slug) });
    expect(fetched.statusCode).toBe(200);
    expect(fetched.json().article).toEqual(article);
  });

  it('creates an article without tags', async () => {
    const article = await postArticle(t, ann, { title: 'No tags here' });
    expect(article.tagList).toEqual([]);
  });

  it('answers 401 without a token or with a bad one', async () => {
    const payload = { article: { title: 'x', description: 'y', body: 'z' } };
    const missing = await t.app.inject({ method: 'POST', url: '/api/articles', payload });
    expect(missing.statusCode).toBe(401);
    const bad = await t.app.inject({
      method: 'POST',
      url: '/api/articles',
      payload,
      headers: { authorization: 'Token abc.def.ghi' },
    });
    expect(bad.statusCode).toBe(401);
  });

  it.each([
    ['title', { description: 'd', body: 'b' }, 'is required'],
    ['description', { title: 't', body: 'b' }, 'is required'],
    ['body', { title: 't', description: 'd' }, 'is required'],
    ['title', { title: '   ', description: 'd', body: 'b' }, "can't be blank"],
    ['body', { title: 't', description: 'd', body: ' \n ' }, "can't be blank"],
    ['title', { title: 'x'.repeat(201), description: 'd', body: 'b' }, undefined],
    ['description', { title: 't', description: 'x'.repeat(501), body: 'b' }, undefined],
    ['body', { title: 't', description: 'd', body: 'x'.repeat(65_537) }, undefined],
    [
      'tagList',
      { title: 't', description: 'd', body: 'b', tagList: Array.from({ length: 11 }, (_, i) => `t${i}`) },
      undefined,
    ],
    ['tagList', { title: 't', description: 'd', body: 'b', tagList: ['x'.repeat(41)] }, undefined],
  ])('answers 422 naming %s for %j', async (field, article, message) => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/articles',
      headers: ann.headers,
      payload: { article },
    });
    expect(res.statusCode).toBe(422);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(Object.keys(res.json().errors)).toContain(field);
    if (message) expect(res.json().errors[field]).toContain(message);
  });

  it('answers 422 when the article object is missing', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/articles',
      headers: ann.headers,
      payload: {},
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().errors).toEqual({ article: ['is required'] });
  });

  it('accepts the maximum sizes', async () => {
    const article = await postArticle(t, ann, {
      title: 't'.repeat(200),
      description: 'd'.repeat(500),
      body: 'b'.repeat(65_536),
      tagList: Array.from({ length: 10 }, (_, i) => `${i}${'x'.repeat(39)}`),
    });
    expect(article.tagList).toHaveLength(10);
    expect(article.body).toHaveLength(65_536);
  });

  it('accepts the widest tag list in bytes: articles_published_at_idx carries tag_list', async () => {
    // Three UTF-8 bytes per character, one UTF-16 unit each: the most bytes the limits allow.
    const tagList = Array.from({ length: 10 }, (_, i) => `${i}${'中'.repeat(39)}`);
    const article = await postArticle(t, ann, { title: 'Wide tags', description: 'd', body: 'b', tagList });
    expect(article.tagList).toEqual([...tagList].sort());
  });
});

describe('slugs', () => {
  it('derives URL-safe slugs from any Unicode title', async () => {
    const cases: [string, string][] = [
      ['Crème Brûlée: the "Recipe"!', 'creme-brulee-the-recipe'],
      ['Привет, мир', 'привет-мир'],
      ['日本語のタイトル', '日本語のタイトル'],
      ['🚀🚀🚀', 'article'],
      ['  --Trim me--  ', 'trim-me'],
    ];
    for (const [title, slug] of cases) {
      const article = await postArticle(t, bob, { title });
      expect(article.slug).toBe(slug);
      const res = await t.app.inject({ method: 'GET', url: url(slug) });
      expect(res.statusCode, title).toBe(200);
    }
  });

  it('keeps long non-Latin slugs short enough to stay addressable once percent-encoded', async () => {
    const article = await postArticle(t, ann, { title: '日'.repeat(150) });
    expect(encodeURIComponent(article.slug).length).toBeLessThanOrEqual(300);
    expect(article.slug).toBe('日'.repeat(33));
    const res = await t.app.inject({ method: 'GET', url: url(article.slug) });
    expect(res.statusCode).toBe(200);
    const twin = await postArticle(t, ann, { title: '日'.repeat(150) });
    expect((await t.app.inject({ method: 'GET', url: url(twin.slug) })).statusCode).toBe(200);
  });

  it('never uses a slug a static route would shadow (GET /api/articles/feed)', async () => {
    const article = await postArticle(t, ann, { title: 'Feed' });
    expect(article.slug).toMatch(/^feed-[0-9a-z]{6}$/);
    const res = await t.app.inject({ method: 'GET', url: url(article.slug) });
    expect(res.json().article.title).toBe('Feed');
  });

  it('cuts long titles to 100 characters', async () => {
    const article = await postArticle(t, bob, { title: `${'a'.repeat(150)} end` });
    expect(article.slug).toBe('a'.repeat(100));
  });

  it('adds a suffix on collision', async () => {
    const first = await postArticle(t, ann, { title: 'Same title' });
    const second = await postArticle(t, bob, { title: 'same TITLE' });
    expect(first.slug).toBe('same-title');
    expect(second.slug).toMatch(/^same-title-[0-9a-z]{6}$/);
  });

  it('gives concurrent creates with the same title distinct slugs', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        t.app.inject({
          method: 'POST',
          url: '/api/articles',
          headers: ann.headers,
          payload: {
            article: { title: 'Race condition', description: 'd', body: 'b', tagList: ['race', 'same'] },
          },
        }),
      ),
    );
    expect(results.map((res) => res.statusCode)).toEqual(Array(8).fill(201));
    const slugs = results.map((res) => res.json().article.slug);
    expect(new Set(slugs).size).toBe(8);
    expect(slugs).toContain('race-condition');
    for (const res of results) expect(res.json().article.tagList).toEqual(['race', 'same']);
  });
});

describe('slug parameter', () => {
  it('answers 422 naming slug when it is over-long, on every route that takes one', async () => {
    const slug = 'x'.repeat(201);
    const routes: [string, string, object?][] = [
      ['GET', url(slug)],
      ['PUT', url(slug), { article: { title: 't' } }],
      ['DELETE', url(slug)],
      ['POST', `${url(slug)}/favorite`],
      ['DELETE', `${url(slug)}/favorite`],
      ['GET', `${url(slug)}/comments`],
      ['POST', `${url(slug)}/comments`, { comment: { body: 'b' } }],
      ['DELETE', `${url(slug)}/comments/1`],
    ];
    for (const [method, path, payload] of routes) {
      const res = await t.app.inject({
        method: method as 'GET',
        url: path,
        headers: ann.headers,
        ...(payload ? { payload } : {}),
      });
      expect(res.statusCode, `${method} ${path}`).toBe(422);
      expect(res.json().errors).toHaveProperty('slug');
    }
  });
});

describe('GET /api/articles/:slug', () => {
  it('answers 404 for an unknown slug', async () => {
    const res = await t.app.inject({ method: 'GET', url: url('no-such-article') });
    expect(res.statusCode).toBe(404);
    expect(res.json().errors).toEqual({ body: ['Article not found'] });
  });

  it('fills favorited and author.following for the viewer', async () => {
    const article = await postArticle(t, bob);
    await t.app.inject({ method: 'POST', url: `/api/profiles/${bob.username}/follow`, headers: ann.headers });
    await t.app.inject({ method: 'POST', url: `${url(article.slug)}/favorite`, headers: ann.headers });
    const asAnn = (
      await t.app.inject({ method: 'GET', url: url(article.slug), headers: ann.headers })
    ).json();
    expect(asAnn.article).toMatchObject({ favorited: true, favoritesCount: 1, author: { following: true } });
    const anonymous = (await t.app.inject({ method: 'GET', url: url(article.slug) })).json();
    expect(anonymous.article).toMatchObject({
      favorited: false,
      favoritesCount: 1,
      author: { following: false },
    });
  });

  it('answers 401 for a bad token even though sign-in is optional', async () => {
    const article = await postArticle(t, bob);
    const res = await t.app.inject({
      method: 'GET',
      url: url(article.slug),
      headers: { authorization: 'Bearer x.y.z' },
    });
    expect(res.statusCode).toBe(401);
  });
});

describe('PUT /api/articles/:slug', () => {
  it('updates fields; a new title gives a new slug and the old one stops resolving', async () => {
    const article = await postArticle(t, ann, { title: 'Before', tagList: ['keep'] });
    const res = await t.app.inject({
      method: 'PUT',
      url: url(article.slug),
      headers: ann.headers,
      payload: { article: { title: 'After the edit', body: 'New body' } },
    });
    expect(res.statusCode).toBe(200);
    const updated = res.json().article;
    expect(updated).toMatchObject({
      slug: 'after-the-edit',
      title: 'After the edit',
      description: article.description,
      body: 'New body',
      tagList: ['keep'],
      createdAt: article.createdAt,
    });
    expect(Date.parse(updated.updatedAt)).toBeGreaterThan(Date.parse(article.updatedAt));
    expect((await t.app.inject({ method: 'GET', url: url('before') })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: url('after-the-edit') })).statusCode).toBe(200);
  });

  it('keeps the slug when only other fields change', async () => {
    const article = await postArticle(t, ann, { title: 'Stable slug' });
    const res = await t.app.inject({
      method: 'PUT',
      url: url(article.slug),
      headers: ann.headers,
      payload: { article: { description: 'changed' } },
    });
    expect(res.json().article).toMatchObject({ slug: 'stable-slug', description: 'changed' });
  });

  it('renames to a suffixed slug when the new one is taken', async () => {
    await postArticle(t, bob, { title: 'Taken name' });
    const mine = await postArticle(t, ann, { title: 'Free name' });
    const res = await t.app.inject({
      method: 'PUT',
      url: url(mine.slug),
      headers: ann.headers,
      payload: { article: { title: 'Taken Name' } },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().article.slug).toMatch(/^taken-name-[0-9a-z]{6}$/);
  });

  it('gives concurrent renames to the same title distinct slugs', async () => {
    const mine = await Promise.all([postArticle(t, ann), postArticle(t, ann), postArticle(t, ann)]);
    const results = await Promise.all(
      mine.map((article) =>
        t.app.inject({
          method: 'PUT',
          url: url(article.slug),
          headers: ann.headers,
          payload: { article: { title: 'Renamed at once' } },
        }),
      ),
    );
    expect(results.map((res) => res.statusCode)).toEqual([200, 200, 200]);
    const slugs = results.map((res) => res.json().article.slug);
    expect(new Set(slugs).size).toBe(3);
    expect(slugs).toContain('renamed-at-once');
    for (const slug of slugs)
      expect((await t.app.inject({ method: 'GET', url: url(slug) })).statusCode).toBe(200);
  });

  it('keeps a suffixed slug when the new title gives the same base', async () => {
    await postArticle(t, bob, { title: 'Twin title' });
    const twin = await postArticle(t, ann, { title: 'Twin title' });
    expect(twin.slug).toMatch(/^twin-title-[0-9a-z]{6}$/);
    const res = await t.app.inject({
      method: 'PUT',
      url: url(twin.slug),
      headers: ann.headers,
      payload: { article: { title: 'Twin Title!' } },
    });
    expect(res.json().article).toMatchObject({ slug: twin.slug, title: 'Twin Title!' });
  });

  it('replaces the tags in the same transaction when tagList is sent', async () => {
    const article = await postArticle(t, ann, { tagList: ['old', 'shared'] });
    const res = await t.app.inject({
      method: 'PUT',
      url: url(article.slug),
      headers: ann.headers,
      payload: { article: { tagList: ['zeta', 'shared', ' alpha '] } },
    });
    expect(res.json().article.tagList).toEqual(['alpha', 'shared', 'zeta']);
  });

  it("answers 403 for another user's article and changes nothing", async () => {
    const article = await postArticle(t, ann);
    const res = await t.app.inject({
      method: 'PUT',
      url: url(article.slug),
      headers: bob.headers,
      payload: { article: { title: 'Hijacked' } },
    });
    expect(res.statusCode).toBe(403);
    const after = (await t.app.inject({ method: 'GET', url: url(article.slug) })).json();
    expect(after.article.title).toBe(article.title);
  });

  it('answers 404, 401 and 422 as documented', async () => {
    const article = await postArticle(t, ann);
    const payload = { article: { title: 'x' } };
    const missing = await t.app.inject({ method: 'PUT', url: url('nope'), headers: ann.headers, payload });
    expect(missing.statusCode).toBe(404);
    const anonymous = await t.app.inject({ method: 'PUT', url: url(article.slug), payload });
    expect(anonymous.statusCode).toBe(401);
    const blank = await t.app.inject({
      method: 'PUT',
      url: url(article.slug),
      headers: ann.headers,
      payload: { article: { description: '  ' } },
    });
    expect(blank.statusCode).toBe(422);
    expect(blank.json().errors).toEqual({ description: ["can't be blank"] });
    const tooLong = await t.app.inject({
      method: 'PUT',
      url: url(article.slug),
      headers: ann.headers,
      payload: { article: { title: 'x'.repeat(201) } },
    });
    expect(tooLong.statusCode).toBe(422);
    expect(tooLong.json().errors).toHaveProperty('title');
  });
});

describe('DELETE /api/articles/:slug', () => {
  it('deletes (204) with its comments, favorites and tag links', async () => {
    const article = await postArticle(t, ann, { tagList: ['doomed'] });
    await t.app.inject({
      method: 'POST',
      url: `${url(article.slug)}/comments`,
      headers: bob.headers,
      payload: { comment: { body: 'nice' } },
    });
    await t.app.inject({ method: 'POST', url: `${url(article.slug)}/favorite`, headers: bob.headers });
    const db = t.deps.database.db;
    const [row] = await db.select({ id: articles.id }).from(articles).where(eq(articles.slug, article.slug));
    if (!row) throw new Error('article row missing');
    expect(await db.select().from(comments).where(eq(comments.articleId, row.id))).toHaveLength(1);

    const res = await t.app.inject({ method: 'DELETE', url: url(article.slug), headers: ann.headers });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect((await t.app.inject({ method: 'GET', url: url(article.slug) })).statusCode).toBe(404);
    expect(await db.select().from(comments).where(eq(comments.articleId, row.id))).toEqual([]);
    expect(await db.select().from(favorites).where(eq(favorites.articleId, row.id))).toEqual([]);
    expect(await db.select().from(articleTags).where(eq(articleTags.articleId, row.id))).toEqual([]);
    // The tag itself may stay (other articles may use it) but is no longer listed.
    expect(await db.select().from(tags).where(eq(tags.name, 'doomed'))).toHaveLength(1);
    const listed = (await t.app.inject({ method: 'GET', url: '/api/tags' })).json();
    expect(listed.tags).not.toContain('doomed');
  });

  it("answers 403 for another user's article, 404 for a missing one, 401 without a token", async () => {
    const article = await postArticle(t, ann);
    expect(
      (await t.app.inject({ method: 'DELETE', url: url(article.slug), headers: bob.headers })).statusCode,
    ).toBe(403);
    expect((await t.app.inject({ method: 'DELETE', url: url(article.slug) })).statusCode).toBe(401);
    expect(
      (await t.app.inject({ method: 'DELETE', url: url('nope'), headers: ann.headers })).statusCode,
    ).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: url(article.slug) })).statusCode).toBe(200);
  });
});
