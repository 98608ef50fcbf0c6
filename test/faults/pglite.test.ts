import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, testDatabaseKind } from '../support/app.js';
import { describeWithRedis, TEST_REDIS_URL } from '../support/services.js';
import { insertUser, type TestUser } from '../support/users.js';

/**
 * The embedded mode's database failing (PGlite closed or aborted, here closed under a running
 * app): every request that needs it answers 503 with Retry-After, never 500 or 401.
 */
describe.runIf(testDatabaseKind === 'pglite')('PGlite failures', () => {
  let t: TestApp;
  let user: TestUser;

  beforeAll(async () => {
    t = await createTestApp({ CACHE_ENABLED: 'false' });
    user = await insertUser(t);
  });
  afterAll(async () => {
    await t.app.close();
    await t.deps.jobs.close();
  });

  it('answers 503 problem+json with Retry-After once the database is gone; /health/ready says so', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/api/user', headers: user.headers })).statusCode).toBe(
      200,
    );
    await t.deps.database.close();

    for (const request of [
      { method: 'GET' as const, url: '/api/articles' },
      { method: 'GET' as const, url: '/api/user', headers: user.headers },
      {
        method: 'POST' as const,
        url: '/api/articles',
        headers: user.headers,
        payload: { article: { title: 'Gone', description: 'd', body: 'b' } },
      },
    ]) {
      const response = await t.app.inject(request);
      expect(response.statusCode, `${request.method} ${request.url}`).toBe(503);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
      expect(response.json().errors.body[0]).toMatch(/database is unavailable/);
    }
    const ready = await t.app.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json().checks.database).toMatchObject({ status: 'down', error: 'PGlite is closed' });
    expect((await t.app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
  });
});

// Bull Board answers errors of its routes with its own handler (a 500): the admin guard maps the
// database's failure itself.
describeWithRedis.runIf(testDatabaseKind === 'pglite')('PGlite failures on the job dashboard', () => {
  let t: TestApp;
  let admin: TestUser;

  beforeAll(async () => {
    t = await createTestApp({ REDIS_URL: TEST_REDIS_URL, CACHE_ENABLED: 'false' });
    admin = await insertUser(t, { role: 'admin' });
  });
  afterAll(async () => {
    await t.app.close();
    await t.deps.jobs.close();
  });

  it('answers /admin/queues with 503 and Retry-After, not 500, once the database is gone', async () => {
    const url = '/admin/queues/api/queues';
    expect((await t.app.inject({ method: 'GET', url, headers: admin.headers })).statusCode).toBe(200);
    await t.deps.database.close();
    const response = await t.app.inject({ method: 'GET', url, headers: admin.headers });
    expect(response.statusCode).toBe(503);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
  });
});
