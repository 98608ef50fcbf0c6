import type { InjectOptions, RouteOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postArticle } from '../modules/articles/support.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { insertUser, type TestUser } from '../support/users.js';

/** Bodies real clients send that are empty, odd or hostile: never a parser's 400/500 by accident. */

const routes: RouteOptions[] = [];
let t: TestApp;
let admin: TestUser;
let params: Record<string, string>;
const JSON_TYPE = { 'content-type': 'application/json' };
const PASSWORD = 'correct horse battery staple';

beforeAll(async () => {
  t = await createTestApp({}, { onRoute: (route) => routes.push({ ...route }) });
  admin = await insertUser(t, { role: 'admin' });
  const { slug } = await postArticle(t, admin);
  const comment = await t.app.inject({
    method: 'POST',
    url: `/api/articles/${slug}/comments`,
    headers: admin.headers,
    payload: { comment: { body: 'Hello' } },
  });
  params = { slug, username: admin.username, id: String(comment.json().comment.id) };
  const registered = await t.app.inject({
    method: 'POST',
    url: '/api/users',
    payload: { user: { username: 'shaper', email: 'shaper@example.com', password: PASSWORD } },
  });
  expect(registered.statusCode, registered.body).toBe(201);
});
afterAll(() => t?.close());

/** Routes whose errors are RFC 6749 §5.2 bodies instead of problem+json. */
const OAUTH_ROUTES = new Set(['/api/auth/token', '/api/auth/revoke']);
const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const fill = (url: string) => url.replace(/:(\w+)/g, (_match, name: string) => params[name] ?? name);

function expectProblem(
  res: { statusCode: number; headers: Record<string, unknown>; json(): unknown },
  status: number,
) {
  expect(res.statusCode).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = res.json() as { status: number; errors: Record<string, string[]> };
  expect(body.status).toBe(status);
  return body.errors;
}

describe('routes that need a body', () => {
  const withBody = () =>
    routes.flatMap((route) =>
      [route.method]
        .flat()
        .filter((method) => WRITES.has(method) && route.schema?.body)
        .map((method) => ({ method: method as InjectOptions['method'], url: route.url })),
    );

  it('answer an empty JSON body (or none) as a validation failure, on every such route', async () => {
    const found = withBody();
    expect(found.length).toBeGreaterThan(5);
    for (const { method, url } of found) {
      for (const headers of [JSON_TYPE, { 'content-type': 'application/json; charset=utf-8' }, {}]) {
        const res = await t.app.inject({ method, url: fill(url), headers: { ...admin.headers, ...headers } });
        const what = `${method} ${url} ${JSON.stringify(headers)}: ${res.body}`;
        if (OAUTH_ROUTES.has(url)) {
          expect(res.statusCode, what).toBe(400);
          expect(res.json().error, what).toBe('invalid_request');
        } else {
          expect(res.statusCode, what).toBe(422);
          expect(res.json().errors, what).toEqual({ body: ['is required'] });
        }
      }
    }
  });

  it.each([
    ['null', 'null'],
    ['an array', '[{"user":{}}]'],
    ['a string', '"user"'],
    ['a number', '42'],
  ])('answer %s where an object is needed with 422', async (_name, payload) => {
    const res = await t.app.inject({ method: 'POST', url: '/api/users/login', headers: JSON_TYPE, payload });
    expect(expectProblem(res, 422)).toEqual({ body: ['must be object'] });
  });
});

describe('every write route', () => {
  const hostile: [string, Record<string, string>, string, number][] = [
    ['malformed JSON', JSON_TYPE, '{"a":', 400],
    ['a __proto__ key', JSON_TYPE, '{"__proto__":{"admin":true}}', 400],
    ['another charset', { 'content-type': 'application/json; charset=latin1' }, '{}', 415],
  ];

  it.each(hostile)('answers %s in its error format, never a 5xx', async (_name, headers, payload, status) => {
    const writes = routes.flatMap((route) =>
      [route.method]
        .flat()
        .filter((method) => WRITES.has(method))
        .map((method) => ({ method: method as InjectOptions['method'], url: route.url })),
    );
    expect(writes.length).toBeGreaterThan(10);
    for (const { method, url } of writes) {
      const res = await t.app.inject({
        method,
        url: fill(url),
        headers: { ...admin.headers, ...headers },
        payload,
      });
      const what = `${method} ${url}: ${res.body}`;
      if (OAUTH_ROUTES.has(url)) {
        expect(res.statusCode, what).toBe(400);
        expect(res.json().error, what).toBe('invalid_request');
      } else {
        expect(res.statusCode, what).toBe(status);
        expect(res.headers['content-type'], what).toMatch(/^application\/problem\+json/);
      }
    }
  });
});

describe('odd JSON', () => {
  const login = (headers: Record<string, string>, payload: string) =>
    t.app.inject({ method: 'POST', url: '/api/users/login', headers, payload });
  const credentials = JSON.stringify({ user: { email: 'shaper@example.com', password: PASSWORD } });

  it('reads application/json with a UTF-8 charset, however it is spelled', async () => {
    for (const type of [
      'application/json; charset=utf-8',
      'application/json;charset="UTF-8"',
      'Application/JSON',
    ]) {
      const res = await login({ 'content-type': type }, credentials);
      expect(res.statusCode, type).toBe(200);
      expect(res.json().user.username).toBe('shaper');
    }
  });

  it('refuses another charset with 415 rather than misreading the bytes', async () => {
    const res = await login({ 'content-type': 'application/json; charset=iso-8859-1' }, credentials);
    expect(expectProblem(res, 415).body?.[0]).toMatch(/charset "iso-8859-1"/);
  });

  it('answers a media type no route reads with 415', async () => {
    const res = await login({ 'content-type': 'application/xml' }, '<user/>');
    expectProblem(res, 415);
  });

  it('answers truncated JSON with 400', async () => {
    const res = await login(JSON_TYPE, '{"user": {"email": ');
    expect(expectProblem(res, 400)).toEqual({ body: ['The request body is not valid JSON'] });
  });

  it.each([
    ['__proto__', '{"user":{"email":"a@b.c","password":"x"},"__proto__":{"admin":true}}'],
    ['constructor.prototype', '{"user":{"constructor":{"prototype":{"admin":true}}}}'],
  ])('refuses a %s key with 400 and pollutes nothing', async (_name, payload) => {
    const res = await login(JSON_TYPE, payload);
    expect(expectProblem(res, 400).body?.[0]).toMatch(/forbidden key/);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });
});

describe('the OAuth2 endpoints (RFC 6749 §5.2 errors, never a 500)', () => {
  const cases: [string, Record<string, string>, string | undefined][] = [
    ['truncated JSON', JSON_TYPE, '{"grant_type":"pass'],
    ['an empty JSON body', JSON_TYPE, undefined],
    ['a __proto__ key', JSON_TYPE, '{"grant_type":"password","__proto__":{"x":1}}'],
    ['JSON in an unsupported charset', { 'content-type': 'application/json; charset=latin1' }, '{}'],
    [
      'a form in an unsupported charset',
      { 'content-type': 'application/x-www-form-urlencoded; charset=windows-1252' },
      'grant_type=password',
    ],
    ['an unsupported media type', { 'content-type': 'application/xml' }, '<grant_type/>'],
    ['null', JSON_TYPE, 'null'],
  ];
  describe.each(['/api/auth/token', '/api/auth/revoke'])('%s', (url) => {
    it.each(cases)('answers %s with 400 invalid_request', async (_name, headers, payload) => {
      const res = await t.app.inject({ method: 'POST', url, headers, payload });
      expect(res.statusCode, res.body).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.json()).toEqual({ error: 'invalid_request', error_description: expect.any(String) });
    });
  });

  it('still grants tokens for JSON sent with charset=utf-8', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/token',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      payload: { grant_type: 'password', username: 'shaper', password: PASSWORD },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().token_type).toBe('bearer');
  });
});
