import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createDeps } from '../../src/deps.js';
import { waitFor } from '../jobs/support.js';
import { postArticle } from '../modules/articles/support.js';
import { createTestApp, TEST_JWT_SECRET, type TestApp } from '../support/app.js';
import { describeWithRedis, TEST_REDIS_URL } from '../support/services.js';
import { insertUser, type TestUser } from '../support/users.js';

/**
 * Issue 7 on the real content routes, on a real Redis: MISS then HIT per endpoint, a TTL on every
 * key, every write invalidating what it changed, per-viewer fields, two instances, ETag/304.
 */
describeWithRedis('cached content endpoints', () => {
  const prefix = `test:endpoints:${randomBytes(6).toString('hex')}:`;
  const env = { CACHE_REDIS_URL: TEST_REDIS_URL, CACHE_KEY_PREFIX: prefix, CACHE_TIMEOUT_MS: '1000' };
  let t: TestApp;
  let raw: Redis;
  let ann: TestUser;
  let bob: TestUser;
  let slug: string;

  beforeAll(async () => {
    t = await createTestApp(env);
    raw = new Redis(TEST_REDIS_URL);
    ann = await insertUser(t, { bio: 'first bio' });
    bob = await insertUser(t);
    slug = (await postArticle(t, ann, { title: 'Cached article', tagList: ['cached'] })).slug;
  });
  afterAll(async () => {
    const keys = await raw.keys(`${prefix}*`); // test clean-up only
    if (keys.length) await raw.del(...keys);
    raw.disconnect();
    await t?.close();
  });

  function jobsIdle() {
    return waitFor('background jobs to finish', async () => {
      const { waiting, active } = await t.deps.jobs.counts();
      return waiting + active === 0;
    });
  }

  async function read(url: string, user?: TestUser, app = t.app) {
    const res = await app.inject({ method: 'GET', url, headers: user?.headers });
    expect(res.statusCode, res.body).toBe(200);
    return { cache: res.headers['x-cache'], etag: res.headers.etag, body: res.json() };
  }
  /** Reads twice: the second read must be a HIT with the same body. */
  async function warm(url: string, user?: TestUser) {
    const first = await read(url, user);
    const second = await read(url, user);
    expect(second.cache, url).toBe('HIT');
    expect(second.body).toEqual(first.body);
    return second.body;
  }
  const write = async (method: 'POST' | 'PUT' | 'DELETE', url: string, user: TestUser, payload?: object) => {
    const res = await t.app.inject({ method, url, headers: user.headers, payload });
    expect(res.statusCode, res.body).toBeLessThan(300);
    return res;
  };

  const endpoints = () => [
    '/api/tags',
    '/api/articles',
    '/api/articles?tag=cached&limit=5',
    `/api/articles/${slug}`,
    `/api/articles/${slug}/comments`,
    `/api/profiles/${ann.username}`,
  ];

  it('answers every cacheable GET with a MISS, then a HIT that runs no SQL for anonymous readers', async () => {
    for (const url of endpoints()) {
      const miss = await read(url);
      expect(miss.cache, url).toBe('MISS');
      t.queries.reset();
      const hit = await read(url);
      expect(hit.cache, url).toBe('HIT');
      expect(t.queries.count, url).toBe(0);
      expect(hit.body).toEqual(miss.body);
    }
  });

  it('sets a TTL on every key', async () => {
    for (const url of endpoints()) await read(url);
    const keys = await raw.keys(`${prefix}*`);
    expect(keys.length).toBeGreaterThan(endpoints().length);
    for (const key of keys) expect(await raw.ttl(key), key).toBeGreaterThan(0);
  });

  it('answers 304 to a matching If-None-Match', async () => {
    const { etag } = await read(`/api/articles/${slug}`);
    const res = await t.app.inject({
      method: 'GET',
      url: `/api/articles/${slug}`,
      headers: { 'if-none-match': etag as string },
    });
    expect(res.statusCode).toBe(304);
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    for (const path of ['/api/tags', '/api/articles', '/api/articles/{slug}', '/api/profiles/{username}']) {
      expect(doc.paths[path].get.responses, path).toHaveProperty('304');
    }
  });

  it('article create: lists and tags show it at once', async () => {
    await warm('/api/articles');
    await warm('/api/tags');
    const created = await postArticle(t, bob, { title: 'Brand new', tagList: ['fresh'] });
    const list = await read('/api/articles');
    expect(list.cache).toBe('MISS');
    expect(list.body.articles[0].slug).toBe(created.slug);
    expect((await read('/api/tags')).body.tags).toContain('fresh');
  });

  it('article update: the article and lists show it, the old slug is gone', async () => {
    const own = await postArticle(t, bob, { title: 'Before rename' });
    await warm(`/api/articles/${own.slug}`);
    await warm(`/api/articles/${own.slug}/comments`);
    await warm('/api/articles');
    const res = await write('PUT', `/api/articles/${own.slug}`, bob, {
      article: { title: 'After rename', tagList: ['renamed'] },
    });
    const renamed = res.json().article.slug;
    expect((await t.app.inject({ method: 'GET', url: `/api/articles/${own.slug}` })).statusCode).toBe(404);
    expect(
      (await t.app.inject({ method: 'GET', url: `/api/articles/${own.slug}/comments` })).statusCode,
    ).toBe(404);
    expect((await read(`/api/articles/${renamed}`)).body.article.title).toBe('After rename');
    expect((await read('/api/articles')).body.articles.map((a: { slug: string }) => a.slug)).toContain(
      renamed,
    );
    expect((await read('/api/tags')).body.tags).toContain('renamed');
  });

  it('article delete: gone from the article, its comments, lists and tags', async () => {
    const doomed = await postArticle(t, bob, { title: 'Doomed', tagList: ['doomed'] });
    await warm(`/api/articles/${doomed.slug}`);
    await warm(`/api/articles/${doomed.slug}/comments`);
    await warm('/api/tags');
    await write('DELETE', `/api/articles/${doomed.slug}`, bob);
    expect((await t.app.inject({ method: 'GET', url: `/api/articles/${doomed.slug}` })).statusCode).toBe(404);
    expect(
      (await t.app.inject({ method: 'GET', url: `/api/articles/${doomed.slug}/comments` })).statusCode,
    ).toBe(404);
    expect((await read('/api/tags')).body.tags).not.toContain('doomed');
  });

  it('favorite and unfavorite: counts change for everyone, `favorited` only for the viewer', async () => {
    await warm(`/api/articles/${slug}`);
    await warm(`/api/articles/${slug}`, bob);
    await write('POST', `/api/articles/${slug}/favorite`, bob);
    const asBob = await read(`/api/articles/${slug}`, bob);
    expect(asBob.cache).toBe('MISS');
    expect(asBob.body.article).toMatchObject({ favorited: true, favoritesCount: 1 });
    const asAnn = await read(`/api/articles/${slug}`, ann);
    expect(asAnn.cache).toBe('HIT');
    expect(asAnn.body.article).toMatchObject({ favorited: false, favoritesCount: 1 });
    expect(
      (await read('/api/articles', bob)).body.articles.find((a: { slug: string }) => a.slug === slug),
    ).toMatchObject({ favorited: true, favoritesCount: 1 });

    await write('DELETE', `/api/articles/${slug}/favorite`, bob);
    expect((await read(`/api/articles/${slug}`, bob)).body.article).toMatchObject({
      favorited: false,
      favoritesCount: 0,
    });
  });

  it('follow and unfollow: `following` changes for that viewer only, everywhere the author appears', async () => {
    await warm(`/api/profiles/${ann.username}`, bob);
    await write('POST', `/api/profiles/${ann.username}/follow`, bob);
    expect((await read(`/api/profiles/${ann.username}`, bob)).body.profile.following).toBe(true);
    expect((await read(`/api/profiles/${ann.username}`, ann)).body.profile.following).toBe(false);
    expect((await read(`/api/articles/${slug}`, bob)).body.article.author.following).toBe(true);
    expect((await read(`/api/articles/${slug}`)).body.article.author.following).toBe(false);

    await write('DELETE', `/api/profiles/${ann.username}/follow`, bob);
    expect((await read(`/api/profiles/${ann.username}`, bob)).body.profile.following).toBe(false);
    expect((await read(`/api/articles/${slug}`, bob)).body.article.author.following).toBe(false);
  });

  it("keeps each signed-in viewer's own response: a repeat runs only the token's user lookup", async () => {
    await write('POST', `/api/articles/${slug}/favorite`, bob);
    for (const url of endpoints()) {
      await read(url, bob);
      // The email jobs of earlier writes run in this process: only the request's own are counted.
      await jobsIdle();
      t.queries.reset();
      const again = await read(url, bob);
      expect(again.cache, url).toBe('HIT');
      // Only the token's user lookup (tags, the same for everyone, do not even look).
      expect(t.queries.count, url).toBe(url === '/api/tags' ? 0 : 1);
    }
    // Bob's favorite is his alone, kept bodies included; his unfavorite shows at once.
    type Listed = { slug: string; favorited: boolean };
    const favorited = async (user?: TestUser) => ({
      article: (await read(`/api/articles/${slug}`, user)).body.article.favorited,
      inList: (await read('/api/articles', user)).body.articles.find((a: Listed) => a.slug === slug)
        .favorited,
    });
    expect(await favorited(bob)).toEqual({ article: true, inList: true });
    expect(await favorited(ann)).toEqual({ article: false, inList: false });
    expect(await favorited()).toEqual({ article: false, inList: false });
    await write('DELETE', `/api/articles/${slug}/favorite`, bob);
    expect(await favorited(bob)).toEqual({ article: false, inList: false });
  });

  it('feed: one entry per viewer; a follow, a new article and an unfollow show at once', async () => {
    const carol = await insertUser(t);
    const dave = await insertUser(t);
    const feedOf = async (user: TestUser) => {
      const { cache, body } = await read('/api/articles/feed', user);
      return { cache, slugs: body.articles.map((a: { slug: string }) => a.slug), count: body.articlesCount };
    };
    expect(await feedOf(carol)).toMatchObject({ cache: 'MISS', slugs: [], count: 0 });
    await write('POST', `/api/profiles/${ann.username}/follow`, carol);
    const followed = await feedOf(carol);
    expect(followed.cache).toBe('MISS');
    expect(followed.slugs).toContain(slug);
    expect(await feedOf(carol)).toEqual({ ...followed, cache: 'HIT' });
    // Dave follows nobody: his feed is his own entry, not Carol's.
    expect(await feedOf(dave)).toMatchObject({ cache: 'MISS', slugs: [], count: 0 });

    const fresh = await postArticle(t, ann, { title: 'Fresh for the feed' });
    expect((await feedOf(carol)).slugs[0]).toBe(fresh.slug);
    await write('DELETE', `/api/profiles/${ann.username}/follow`, carol);
    expect(await feedOf(carol)).toMatchObject({ slugs: [], count: 0 });
  });

  it('comment add and delete: the comment list shows it at once', async () => {
    await warm(`/api/articles/${slug}/comments`);
    const res = await write('POST', `/api/articles/${slug}/comments`, bob, { comment: { body: 'Nice' } });
    const after = await read(`/api/articles/${slug}/comments`);
    expect(after.cache).toBe('MISS');
    expect(after.body.comments.map((c: { body: string }) => c.body)).toEqual(['Nice']);
    await write('DELETE', `/api/articles/${slug}/comments/${res.json().comment.id}`, bob);
    expect((await read(`/api/articles/${slug}/comments`)).body.comments).toEqual([]);
  });

  it('user profile update: the profile and every embedded author show it at once', async () => {
    await warm(`/api/profiles/${ann.username}`);
    await warm(`/api/articles/${slug}`);
    await warm('/api/articles');
    await write('PUT', '/api/user', ann, { user: { bio: 'second bio' } });
    expect((await read(`/api/profiles/${ann.username}`)).body.profile.bio).toBe('second bio');
    expect((await read(`/api/articles/${slug}`)).body.article.author.bio).toBe('second bio');
    const inList = (await read('/api/articles')).body.articles.find((a: { slug: string }) => a.slug === slug);
    expect(inList.author.bio).toBe('second bio');
  });

  it('agrees with a second instance sharing Redis and the database', async () => {
    const config = loadConfig({
      NODE_ENV: 'test',
      JWT_SECRET: TEST_JWT_SECRET,
      DATA_DIR: t.dataDir,
      LOG_LEVEL: 'silent',
      ...env,
    });
    const deps = await createDeps(config, { database: { ...t.deps.database, close: async () => {} } });
    const second = await buildApp(deps);
    await second.ready();
    try {
      await read(`/api/articles/${slug}`, undefined, second);
      expect((await read(`/api/articles/${slug}`, undefined, second)).cache).toBe('HIT');
      // The second instance hears of the write's invalidation on the bump channel.
      const heard = deps.cache.stats().bumpsHeard;
      await write('POST', `/api/articles/${slug}/favorite`, ann);
      await vi.waitFor(() => expect(deps.cache.stats().bumpsHeard).toBeGreaterThan(heard));
      const seen = await read(`/api/articles/${slug}`, undefined, second);
      expect(seen.cache).toBe('MISS');
      expect(seen.body.article.favoritesCount).toBe(1);
    } finally {
      await second.close();
      await deps.close();
    }
  });
});
