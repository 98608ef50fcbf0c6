import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../support/app.js';
import { insertUser, type TestUser } from '../../support/users.js';
import { postArticle } from '../articles/support.js';

let t: TestApp;
let ann: TestUser;
beforeAll(async () => {
  t = await createTestApp();
  ann = await insertUser(t);
});
afterAll(() => t.close());

async function tags(): Promise<string[]> {
  const res = await t.app.inject({ method: 'GET', url: '/api/tags' });
  expect(res.statusCode).toBe(200);
  return res.json().tags;
}

describe('GET /api/tags', () => {
  it('is empty before any article', async () => {
    expect(await tags()).toEqual([]);
  });

  it('lists tags in use, most used first, then alphabetically, trimmed and without duplicates', async () => {
    await postArticle(t, ann, { tagList: ['react', ' vue '] });
    await postArticle(t, ann, { tagList: ['react', 'angular', 'react'] });
    await postArticle(t, ann, { tagList: ['react', 'vue', 'svelte'] });
    expect(await tags()).toEqual(['react', 'vue', 'angular', 'svelte']);
  });

  it('stops listing a tag once no article uses it', async () => {
    const article = await postArticle(t, ann, { tagList: ['ephemeral'] });
    expect(await tags()).toContain('ephemeral');
    await t.app.inject({
      method: 'PUT',
      url: `/api/articles/${article.slug}`,
      headers: ann.headers,
      payload: { article: { tagList: [] } },
    });
    expect(await tags()).not.toContain('ephemeral');
  });

  it('is public: no token needed', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/tags' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ tags: expect.any(Array) });
  });
});
