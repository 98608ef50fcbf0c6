import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';
import { insertUser, type TestUser } from '../support/users.js';

let t: TestApp;
let ann: TestUser;
let admin: TestUser;
let slug: string;
let commentId: number;
beforeAll(async () => {
  t = await createTestApp(
    { AUTH_RATE_LIMIT_IP_MAX: '100000', AUTH_RATE_LIMIT_ACCOUNT_MAX: '100000' },
    {
      // A route added after the plugin, as a later module would: it is covered too.
      beforeReady: (app) => {
        app.post(
          '/probe/:name',
          { schema: { response: { 200: { type: 'object', additionalProperties: true } } } },
          async (request) => ({ params: request.params, body: request.body }),
        );
      },
    },
  );
  ann = await insertUser(t);
  admin = await insertUser(t, { role: 'admin' });
  const article = await t.app.inject({
    method: 'POST',
    url: '/api/articles',
    headers: ann.headers,
    payload: { article: { title: 'Input rules', description: 'd', body: 'b' } },
  });
  slug = article.json().article.slug;
  const comment = await t.app.inject({
    method: 'POST',
    url: `/api/articles/${slug}/comments`,
    headers: ann.headers,
    payload: { comment: { body: 'first' } },
  });
  commentId = comment.json().comment.id;
});
afterAll(() => t.close());

const NUL = '\u0000';
const auth = () => ann.headers;

interface Case {
  name: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: () => string;
  payload?: () => unknown;
  headers?: () => Record<string, string>;
  /** The field the 422 names. */
  field: string;
}

// Every one of these reached PostgreSQL with the NUL and answered 500.
const bodyAndQueryCases: Case[] = [
  { name: 'list by tag', method: 'GET', url: () => '/api/articles?tag=a%00b', field: 'tag' },
  { name: 'list by author', method: 'GET', url: () => '/api/articles?author=%00', field: 'author' },
  { name: 'list by favoriter', method: 'GET', url: () => '/api/articles?favorited=x%00', field: 'favorited' },
  {
    name: 'create article',
    method: 'POST',
    url: () => '/api/articles',
    headers: auth,
    payload: () => ({ article: { title: `a${NUL}`, description: 'd', body: 'b' } }),
    field: 'title',
  },
  {
    name: 'create article tag',
    method: 'POST',
    url: () => '/api/articles',
    headers: auth,
    payload: () => ({ article: { title: 't', description: 'd', body: 'b', tagList: ['ok', `x${NUL}`] } }),
    field: 'tagList',
  },
  {
    name: 'update article',
    method: 'PUT',
    url: () => `/api/articles/${slug}`,
    headers: auth,
    payload: () => ({ article: { body: `b${NUL}` } }),
    field: 'body',
  },
  {
    name: 'add comment',
    method: 'POST',
    url: () => `/api/articles/${slug}/comments`,
    headers: auth,
    payload: () => ({ comment: { body: NUL } }),
    field: 'body',
  },
  {
    name: 'update user',
    method: 'PUT',
    url: () => '/api/user',
    headers: auth,
    payload: () => ({ user: { bio: `hi${NUL}` } }),
    field: 'bio',
  },
  {
    name: 'login',
    method: 'POST',
    url: () => '/api/users/login',
    payload: () => ({ user: { email: `a${NUL}@example.com`, password: 'password123' } }),
    field: 'email',
  },
  {
    name: 'forgot password',
    method: 'POST',
    url: () => '/api/auth/forgot-password',
    payload: () => ({ email: `a${NUL}@example.com` }),
    field: 'email',
  },
  { name: 'verify email', method: 'GET', url: () => '/api/auth/verify-email?token=%00', field: 'token' },
  { name: 'reset page', method: 'GET', url: () => '/api/auth/reset-password?token=a%00', field: 'token' },
  {
    name: 'unsubscribe',
    method: 'GET',
    url: () => '/api/notifications/unsubscribe?token=a%00',
    field: 'token',
  },
  {
    name: 'email log',
    method: 'GET',
    url: () => '/api/admin/emails?to=a%00@example.com',
    headers: () => admin.headers,
    field: 'to',
  },
  { name: 'an undeclared query parameter', method: 'GET', url: () => '/api/tags?x=%00', field: 'x' },
  {
    name: 'a route added later',
    method: 'POST',
    url: () => '/probe/ok',
    payload: () => ({ deep: [{ [`k${NUL}`]: 1 }] }),
    field: `k${NUL}`,
  },
];

const pathCases: Array<Pick<Case, 'name' | 'method' | 'url' | 'headers'>> = [
  { name: 'get article', method: 'GET', url: () => '/api/articles/a%00b' },
  { name: 'delete article', method: 'DELETE', url: () => '/api/articles/a%00', headers: auth },
  { name: 'favorite', method: 'POST', url: () => '/api/articles/%00/favorite', headers: auth },
  { name: 'unfavorite', method: 'DELETE', url: () => '/api/articles/%00/favorite', headers: auth },
  { name: 'comments', method: 'GET', url: () => '/api/articles/%00/comments' },
  {
    name: 'delete comment',
    method: 'DELETE',
    url: () => `/api/articles/%00/comments/${commentId}`,
    headers: auth,
  },
  { name: 'profile', method: 'GET', url: () => '/api/profiles/a%00' },
  { name: 'follow', method: 'POST', url: () => '/api/profiles/a%00/follow', headers: auth },
  { name: 'unfollow', method: 'DELETE', url: () => '/api/profiles/a%00/follow', headers: auth },
  { name: 'a route added later', method: 'POST', url: () => '/probe/%00' },
];

describe('text PostgreSQL cannot store', () => {
  it.each(bodyAndQueryCases)('$name: NUL is a 422 naming the field', async (c) => {
    const res = await t.app.inject({
      method: c.method,
      url: c.url(),
      headers: c.headers?.(),
      payload: c.payload?.() as object,
    });
    expect(res.statusCode).toBe(422);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json().errors).toEqual({
      [c.field]: ['must not contain NUL characters or unpaired surrogates'],
    });
  });

  it.each(pathCases)('$name: NUL in a path parameter is a 404', async (c) => {
    const res = await t.app.inject({ method: c.method, url: c.url(), headers: c.headers?.() });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('finds NUL at any depth without overflowing the stack', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/probe/ok',
      headers: { 'content-type': 'application/json' },
      payload: `{"deep":${'['.repeat(100_000)}"\\u0000"${']'.repeat(100_000)}}`,
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().errors).toEqual({ deep: ['must not contain NUL characters or unpaired surrogates'] });
  });

  it('refuses an unpaired surrogate, which would be stored as U+FFFD, and keeps paired ones', async () => {
    const lone = await t.app.inject({
      method: 'POST',
      url: `/api/articles/${slug}/comments`,
      headers: { ...ann.headers, 'content-type': 'application/json' },
      // The wire form; JSON.stringify writes a lone surrogate the same way.
      payload: `{"comment":{"body":"broken \\ud800 pair"}}`,
    });
    expect(lone.statusCode).toBe(422);
    expect(lone.json().errors).toEqual({ body: ['must not contain NUL characters or unpaired surrogates'] });
    const paired = await t.app.inject({
      method: 'POST',
      url: `/api/articles/${slug}/comments`,
      headers: { ...ann.headers, 'content-type': 'application/json' },
      payload: `{"comment":{"body":"emoji \\ud83d\\ude00 pair"}}`,
    });
    expect(paired.statusCode).toBe(200);
    expect(paired.json().comment.body).toBe('emoji 😀 pair');
  });

  it('answers the OAuth token endpoint in its own RFC 6749 form (400 invalid_request)', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'grant_type=password&username=ann%00&password=secret12',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      error: 'invalid_request',
      error_description: 'username must not contain NUL characters or unpaired surrogates',
    });
  });

  it('refuses Basic credentials of the admin dashboard that hold NUL (401, no lookup)', async () => {
    const credentials = Buffer.from(`ann${NUL}:password123`).toString('base64');
    const res = await t.app.inject({
      method: 'GET',
      url: '/admin/queues',
      headers: { authorization: `Basic ${credentials}` },
    });
    expect(res.statusCode).toBe(401);
  });

  it('documents the 422 and the 404 on every route, later ones included', async () => {
    const doc = (await t.app.inject({ url: '/openapi.json' })).json();
    expect(Object.keys(doc.paths['/api/tags'].get.responses)).toContain('422');
    expect(Object.keys(doc.paths['/api/profiles/{username}/follow'].post.responses)).toEqual(
      expect.arrayContaining(['404', '422']),
    );
    expect(Object.keys(doc.paths['/probe/{name}'].post.responses)).toEqual(
      expect.arrayContaining(['404', '422']),
    );
    // The OAuth endpoints answer bad input with 400 (RFC 6749) and document no 422.
    expect(Object.keys(doc.paths['/api/auth/token'].post.responses)).not.toContain('422');
  });
});

describe('paths that name nothing', () => {
  it.each([
    '/api/articles/%zz',
    '/api/articles/%/favorite',
    '/api/profiles/%FF',
    `/api/articles/${'x'.repeat(600)}`,
  ])('%s is a problem+json 404 (Fastify answered 400 or 414 in its own shape)', async (url) => {
    const res = await t.app.inject({ method: url.endsWith('favorite') ? 'POST' : 'GET', url });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json().errors).toEqual({ body: ['No resource has this path'] });
  });
});

describe('documented responses', () => {
  it('a body route documents 400 (not JSON) and 413 (too large); an HTML page documents its errors as problem+json', async () => {
    const doc = (await t.app.inject({ url: '/openapi.json' })).json();
    const create = doc.paths['/api/articles'].post.responses;
    expect(Object.keys(create)).toEqual(expect.arrayContaining(['400', '413', '422']));
    const malformed = await t.app.inject({
      method: 'POST',
      url: '/api/articles',
      headers: { ...ann.headers, 'content-type': 'application/json' },
      payload: '{"article": ',
    });
    expect(malformed.statusCode).toBe(400);
    const page = doc.paths['/api/auth/verify-email'].get.responses;
    expect(Object.keys(page['422'].content)).toEqual(['application/problem+json']);
    expect(Object.keys(page['200'].content)).toEqual(['text/html']);
    const refused = await t.app.inject({ url: '/api/auth/verify-email?token=%00' });
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(Object.keys(doc.paths['/metrics'].get.responses['200'].content)).toEqual(['text/plain']);
  });
});

describe('integers in query strings and paths', () => {
  const notIntegers = [
    '1e309',
    'Infinity',
    '-Infinity',
    'NaN',
    '1.5',
    '0x10',
    '1e2',
    ' 5',
    '5 ',
    '+5',
    '',
    '99999999999999999999999',
  ];

  it.each(notIntegers)('limit=%j is a 422 naming limit', async (value) => {
    const res = await t.app.inject({ url: `/api/articles?limit=${encodeURIComponent(value)}` });
    expect(res.statusCode).toBe(422);
    expect(Object.keys(res.json().errors)).toEqual(['limit']);
  });

  it.each(['1e2', 'Infinity', '-1', '2147483648'])('offset=%j is a 422 naming offset', async (value) => {
    const res = await t.app.inject({ url: `/api/articles/feed?offset=${value}`, headers: ann.headers });
    expect(res.statusCode).toBe(422);
    expect(Object.keys(res.json().errors)).toEqual(['offset']);
  });

  it.each(['1e0', '0x1', '1.0', '99999999999'])('a comment id of %j is a 422 naming id', async (value) => {
    const res = await t.app.inject({
      method: 'DELETE',
      url: `/api/articles/${slug}/comments/${value}`,
      headers: ann.headers,
    });
    expect(res.statusCode).toBe(422);
    expect(Object.keys(res.json().errors)).toEqual(['id']);
  });

  it('keeps in-range integers working, with limit above 100 capped', async () => {
    for (const [query, count] of [
      ['limit=1&offset=0', 1],
      ['limit=007', 1],
      ['limit=2147483647', 1],
      ['offset=1', 0],
    ] as const) {
      const res = await t.app.inject({ url: `/api/articles?${query}` });
      expect(res.statusCode, query).toBe(200);
      expect(res.json().articles).toHaveLength(count);
    }
    const emails = await t.app.inject({
      url: '/api/admin/emails?limit=100&offset=0',
      headers: admin.headers,
    });
    expect(emails.statusCode).toBe(200);
  });
});
