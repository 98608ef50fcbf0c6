import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../support/app.js';
import { insertUser, type TestUser } from '../../support/users.js';

let t: TestApp;
let author: TestUser;
let reader: TestUser;
const APP_URL = 'https://api.example';
const evil = '<script>alert(1)</script>';

beforeAll(async () => {
  t = await createTestApp({ APP_URL });
  author = await insertUser(t, { bio: `I write ${evil}` });
  reader = await insertUser(t);
});
afterAll(() => t?.close());

async function publish(title: string, extra: Record<string, unknown> = {}) {
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/articles',
    headers: author.headers,
    payload: {
      article: { title, description: `About ${evil}`, body: `Body ${evil}`, tagList: ['pages'], ...extra },
    },
  });
  expect(res.statusCode).toBe(201);
  return res.json().article as { slug: string };
}

function expectPage(
  res: { statusCode: number; headers: Record<string, unknown>; body: string },
  status = 200,
) {
  expect(res.statusCode).toBe(status);
  expect(res.headers['content-type']).toMatch(/^text\/html/);
  expect(res.headers['content-security-policy']).toContain("default-src 'none'");
  expect(res.body).not.toContain('<script>');
}

describe('GET /', () => {
  it('answers a person with a page that links to the docs, the OpenAPI document, health and the mail', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/' });
    expectPage(res);
    for (const path of ['/docs', '/openapi.json', '/health/ready', '/dev/mail']) {
      expect(res.body).toContain(`href="${APP_URL}${path}"`);
    }
  });
});

describe('the API’s own pages (what email links open without FRONTEND_URL)', () => {
  it('GET /profile/:username shows the profile and its articles, escaped, with working links', async () => {
    const { slug } = await publish('A page-worthy article');
    const res = await t.app.inject({ method: 'GET', url: `/profile/${author.username.toUpperCase()}` });
    expectPage(res);
    expect(res.body).toContain(author.username);
    expect(res.body).toContain('I write &lt;script&gt;');
    expect(res.body).toContain(`href="${APP_URL}/article/${slug}"`);
    const article = await t.app.inject({ method: 'GET', url: `/article/${slug}` });
    expectPage(article);
  });

  it('GET /article/:slug shows the article and its comments with links to the authors’ pages', async () => {
    const { slug } = await publish('With comments');
    const comment = await t.app.inject({
      method: 'POST',
      url: `/api/articles/${slug}/comments`,
      headers: reader.headers,
      payload: { comment: { body: `Nice ${evil}` } },
    });
    expect(comment.statusCode).toBe(200);
    const res = await t.app.inject({ method: 'GET', url: `/article/${slug}` });
    expectPage(res);
    expect(res.body).toContain('With comments');
    expect(res.body).toContain('Body &lt;script&gt;');
    expect(res.body).toContain('id="comments"');
    expect(res.body).toContain('Nice &lt;script&gt;');
    expect(res.body).toContain(`href="${APP_URL}/profile/${reader.username}"`);
    expect(res.body).toContain(`href="${APP_URL}/profile/${author.username}"`);
    const profile = await t.app.inject({ method: 'GET', url: `/profile/${reader.username}` });
    expectPage(profile);
  });

  it('answers an absent profile or article, and a scheduled article, with a 404 page', async () => {
    const { slug } = await publish('Later', { publishAt: new Date(Date.now() + 86_400_000).toISOString() });
    for (const url of ['/profile/nobody_here', '/article/no-such-article', `/article/${slug}`]) {
      const res = await t.app.inject({ method: 'GET', url });
      expectPage(res, 404);
      expect(res.body).toContain('Not found');
    }
  });
});

describe('with FRONTEND_URL', () => {
  it('the pages link to the frontend, and the root page names it', async () => {
    const app = await createTestApp({ APP_URL, FRONTEND_URL: 'https://app.example/#' });
    try {
      const writer = await insertUser(app);
      const home = await app.app.inject({ method: 'GET', url: '/' });
      expect(home.body).toContain('href="https://app.example/#"');
      const profile = await app.app.inject({ method: 'GET', url: `/profile/${writer.username}` });
      expectPage(profile);
    } finally {
      await app.close();
    }
  });
});

describe('in production', () => {
  it('the root page does not mention /dev/mail', async () => {
    const app = await createTestApp({ APP_URL, NODE_ENV: 'production' });
    try {
      const res = await app.app.inject({ method: 'GET', url: '/' });
      expectPage(res);
      expect(res.body).toContain(`href="${APP_URL}/docs"`);
      expect(res.body).not.toContain('/dev/mail');
      expect((await app.app.inject({ method: 'GET', url: '/dev/mail' })).statusCode).toBe(404);
    } finally {
      await app.close();
    }
  });
});
