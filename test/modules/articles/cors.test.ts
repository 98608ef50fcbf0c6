import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../support/app.js';

/** A RealWorld frontend on another origin calls this API with `Authorization: Token …`. */
function preflight(t: TestApp, origin: string, url = '/api/articles/some-slug') {
  return t.app.inject({
    method: 'OPTIONS',
    url,
    headers: {
      origin,
      'access-control-request-method': 'PUT',
      'access-control-request-headers': 'authorization,content-type',
    },
  });
}

describe('CORS in production with CORS_ORIGINS', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ NODE_ENV: 'production', CORS_ORIGINS: 'https://app.example.com' });
  });
  afterAll(() => t.close());

  it('answers a preflight with authorization from an allowed origin', async () => {
    const res = await preflight(t, 'https://app.example.com');
    expect(res.statusCode).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(res.headers['access-control-allow-methods']).toMatch(/PUT/);
    expect(res.headers['access-control-allow-headers']).toMatch(/authorization/);
  });

  it('allows the headers stock clients add to every call (X-Requested-With, If-None-Match)', async () => {
    const res = await preflight(t, 'https://app.example.com');
    const allowed = String(res.headers['access-control-allow-headers']).split(/,\s*/);
    for (const header of ['authorization', 'content-type', 'x-requested-with', 'if-none-match'])
      expect(allowed).toContain(header);
  });

  it('lets the allowed origin read responses', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/api/articles',
      headers: { origin: 'https://app.example.com' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example.com');
  });

  it('refuses another origin', async () => {
    const res = await preflight(t, 'https://evil.example.com');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    const get = await t.app.inject({
      method: 'GET',
      url: '/api/tags',
      headers: { origin: 'https://evil.example.com' },
    });
    expect(get.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('CORS in development', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ NODE_ENV: 'development' });
  });
  afterAll(() => t.close());

  it('allows any origin, including the authorization header', async () => {
    const res = await preflight(t, 'http://localhost:4200', '/api/articles/feed');
    expect(res.statusCode).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('http://localhost:4200');
    expect(res.headers['access-control-allow-headers']).toMatch(/authorization/);
  });
});
