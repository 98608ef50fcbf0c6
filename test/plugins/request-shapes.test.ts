import type { InjectOptions, LightMyRequestResponse as Response, RouteOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUnsubscribeTokens } from '../../src/email/unsubscribe.js';
import { emailRowsTo } from '../email/wait.js';
import { postArticle } from '../modules/articles/support.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { insertUser, type TestUser } from '../support/users.js';

/**
 * Requests as real clients send them, replayed on every route the app registers: the Vue 3
 * RealWorld frontend and the community's Postman suite send `Content-Type: application/json` on
 * every call, body or not. The routes are enumerated as they are registered, so a route added
 * later without a row here fails the coverage test.
 */

const routes: RouteOptions[] = [];
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({}, { onRoute: (route) => routes.push({ ...route }) });
});
afterAll(() => t?.close());

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const methodsOf = (route: RouteOptions) => [route.method].flat().map(String);
const keysWhere = (keep: (method: string, route: RouteOptions) => boolean) =>
  [
    ...new Set(
      routes.flatMap((route) =>
        methodsOf(route)
          .filter((method) => keep(method, route))
          .map((method) => `${method} ${route.url}`),
      ),
    ),
  ].sort();

/** The shapes a client may send to a route that takes no body. */
const SHAPES: { name: string; headers: Record<string, string>; payload?: string }[] = [
  { name: 'Content-Type: application/json, no body', headers: { 'content-type': 'application/json' } },
  {
    name: 'Content-Type: application/json; charset=utf-8, no body',
    headers: { 'content-type': 'application/json; charset=utf-8' },
  },
  { name: 'an empty object', headers: { 'content-type': 'application/json' }, payload: '{}' },
  {
    name: 'a JSON body it ignores',
    headers: { 'content-type': 'application/json' },
    payload: '{"why":"ok"}',
  },
  { name: 'no Content-Type, no body', headers: {} },
];

interface Prepared {
  url: string;
  headers: Record<string, string>;
  /** Asserts the request did what the route is for (not only its status). */
  check(res: Response): Promise<void>;
}

const get = (url: string, user?: TestUser) =>
  t.app.inject({ method: 'GET', url, ...(user ? { headers: user.headers } : {}) });

async function followed(viewer: TestUser, target: TestUser): Promise<boolean> {
  return (await get(`/api/profiles/${target.username}`, viewer)).json().profile.following;
}

async function favorite(
  viewer: TestUser,
  slug: string,
): Promise<{ favorited: boolean; favoritesCount: number }> {
  const { favorited, favoritesCount } = (await get(`/api/articles/${slug}`, viewer)).json().article;
  return { favorited, favoritesCount };
}

/** One row per body-less write route: how to set it up and what it must have changed. */
const BODYLESS_WRITES: Record<string, () => Promise<Prepared>> = {
  'POST /api/profiles/:username/follow': async () => {
    const [viewer, target] = [await insertUser(t), await insertUser(t)];
    return {
      url: `/api/profiles/${target.username}/follow`,
      headers: viewer.headers,
      check: async (res) => {
        expect(res.statusCode, res.body).toBe(200);
        expect(res.json().profile.following).toBe(true);
        expect(await followed(viewer, target)).toBe(true);
      },
    };
  },
  'DELETE /api/profiles/:username/follow': async () => {
    const [viewer, target] = [await insertUser(t), await insertUser(t)];
    const url = `/api/profiles/${target.username}/follow`;
    await t.app.inject({ method: 'POST', url, headers: viewer.headers });
    expect(await followed(viewer, target)).toBe(true);
    return {
      url,
      headers: viewer.headers,
      check: async (res) => {
        expect(res.statusCode, res.body).toBe(200);
        expect(res.json().profile.following).toBe(false);
        expect(await followed(viewer, target)).toBe(false);
      },
    };
  },
  'POST /api/articles/:slug/favorite': async () => {
    const [author, viewer] = [await insertUser(t), await insertUser(t)];
    const { slug } = await postArticle(t, author);
    return {
      url: `/api/articles/${slug}/favorite`,
      headers: viewer.headers,
      check: async (res) => {
        expect(res.statusCode, res.body).toBe(200);
        expect(res.json().article).toMatchObject({ favorited: true, favoritesCount: 1 });
        expect(await favorite(viewer, slug)).toEqual({ favorited: true, favoritesCount: 1 });
      },
    };
  },
  'DELETE /api/articles/:slug/favorite': async () => {
    const [author, viewer] = [await insertUser(t), await insertUser(t)];
    const { slug } = await postArticle(t, author);
    const url = `/api/articles/${slug}/favorite`;
    await t.app.inject({ method: 'POST', url, headers: viewer.headers });
    expect(await favorite(viewer, slug)).toEqual({ favorited: true, favoritesCount: 1 });
    return {
      url,
      headers: viewer.headers,
      check: async (res) => {
        expect(res.statusCode, res.body).toBe(200);
        expect(res.json().article).toMatchObject({ favorited: false, favoritesCount: 0 });
        expect(await favorite(viewer, slug)).toEqual({ favorited: false, favoritesCount: 0 });
      },
    };
  },
  'DELETE /api/articles/:slug': async () => {
    const author = await insertUser(t);
    const { slug } = await postArticle(t, author);
    return {
      url: `/api/articles/${slug}`,
      headers: author.headers,
      check: async (res) => {
        expect(res.statusCode, res.body).toBe(204);
        expect((await get(`/api/articles/${slug}`, author)).statusCode).toBe(404);
      },
    };
  },
  'DELETE /api/articles/:slug/comments/:id': async () => {
    const author = await insertUser(t);
    const { slug } = await postArticle(t, author);
    const posted = await t.app.inject({
      method: 'POST',
      url: `/api/articles/${slug}/comments`,
      headers: author.headers,
      payload: { comment: { body: 'First!' } },
    });
    const { id } = posted.json().comment;
    return {
      url: `/api/articles/${slug}/comments/${id}`,
      headers: author.headers,
      check: async (res) => {
        expect(res.statusCode, res.body).toBe(204);
        expect((await get(`/api/articles/${slug}/comments`, author)).json().comments).toEqual([]);
      },
    };
  },
  'POST /api/auth/verify-email/resend': async () => {
    const user = await insertUser(t);
    return {
      url: '/api/auth/verify-email/resend',
      headers: user.headers,
      check: async (res) => {
        expect(res.statusCode, res.body).toBe(202);
        const rows = await emailRowsTo(t.deps.database.db, user.email);
        expect(rows.map((row) => row.template)).toEqual(['verify-email']);
      },
    };
  },
  'POST /api/auth/sign-out-everywhere': async () => {
    const user = await insertUser(t);
    return {
      url: '/api/auth/sign-out-everywhere',
      headers: user.headers,
      check: async (res) => {
        expect(res.statusCode, res.body).toBe(204);
        expect((await get('/api/user', user)).statusCode).toBe(401);
      },
    };
  },
  'POST /api/notifications/unsubscribe': async () => {
    const user = await insertUser(t);
    const token = createUnsubscribeTokens(t.config.jwtSecret).create({
      userId: user.id,
      kind: 'new_follower',
    });
    return {
      url: `/api/notifications/unsubscribe?token=${encodeURIComponent(token)}`,
      headers: {},
      check: async (res) => {
        expect(res.statusCode, res.body).toBe(200);
        const now = await get('/api/user/notifications', user);
        expect(now.json().notifications.newFollower).toBe(false);
      },
    };
  },
};

describe('routes that take no body', () => {
  it('every body-less write route the app registers has a row in this table', () => {
    const bodyless = keysWhere((method, route) => WRITES.has(method) && !route.schema?.body);
    expect(bodyless.length).toBeGreaterThan(0);
    expect(Object.keys(BODYLESS_WRITES).sort()).toEqual(bodyless);
  });

  describe.each(Object.entries(BODYLESS_WRITES))('%s', (key, prepare) => {
    const method = key.split(' ')[0] as InjectOptions['method'];
    it.each(SHAPES)('works with $name', async (shape) => {
      const { url, headers, check } = await prepare();
      const res = await t.app.inject({
        method,
        url,
        headers: { ...headers, ...shape.headers },
        ...(shape.payload === undefined ? {} : { payload: shape.payload }),
      });
      await check(res);
    });
  });
});
