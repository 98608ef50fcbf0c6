import type { RouteOptions } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { postArticle } from '../modules/articles/support.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { insertUser, type TestUser } from '../support/users.js';

/** HEAD on every GET route the app registers (clients and proxies probe with it). */

const routes: RouteOptions[] = [];
let t: TestApp;
let admin: TestUser;
let params: Record<string, string>;

beforeAll(async () => {
  t = await createTestApp({}, { onRoute: (route) => routes.push({ ...route }) });
  admin = await insertUser(t, { role: 'admin' });
  const { slug } = await postArticle(t, admin, { tagList: ['shapes'] });
  params = { slug, username: admin.username };
});
afterAll(() => t?.close());

/** Headers that differ per request by design. */
const PER_REQUEST = new Set(['date', 'x-request-id', 'x-cache', 'content-length', 'etag', 'connection']);

const fill = (url: string) =>
  url.replace(/:(\w+)/g, (_match, name: string) => params[name] ?? name).replace(/\*$/, 'index.html');

it('answers HEAD on every GET route with the GET headers and no body', async () => {
  const getUrls = [
    ...new Set(routes.filter((route) => [route.method].flat().includes('GET')).map((route) => route.url)),
  ];
  expect(getUrls.length).toBeGreaterThan(10);
  for (const url of getUrls) {
    for (const headers of [{}, admin.headers]) {
      const request = { url: fill(url), headers };
      const first = await t.app.inject({ method: 'GET', ...request });
      const head = await t.app.inject({ method: 'HEAD', ...request });
      const second = await t.app.inject({ method: 'GET', ...request });
      const what = `HEAD ${url} ${JSON.stringify(headers)}`;
      expect(head.statusCode, what).toBe(first.statusCode);
      expect(head.body, what).toBe('');
      const shared = (res: typeof head) =>
        Object.fromEntries(Object.entries(res.headers).filter(([name]) => !PER_REQUEST.has(name)));
      expect(shared(head), what).toEqual(shared(first));
      // Where an ETag names the content and it stayed the same (live readings like /health/ready
      // or /metrics change between requests), HEAD describes exactly that content.
      if (first.headers.etag && first.body === second.body) {
        expect(head.headers['content-length'], what).toBe(String(Buffer.byteLength(first.rawPayload)));
        expect(head.headers.etag, what).toBe(first.headers.etag);
      }
    }
  }
});
