import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { users } from '../../../src/db/schema.js';
import { probeJobType } from '../../../src/jobs/system-jobs.js';
import { hashPassword } from '../../../src/modules/auth/passwords.js';
import { removeQueueKeys, uniqueKey } from '../../jobs/support.js';
import { createTestApp, type TestApp } from '../../support/app.js';
import { describeWithRedis, TEST_REDIS_URL } from '../../support/services.js';
import { insertUser, type TestUser } from '../../support/users.js';

const PASSWORD = 'correct horse battery staple';

function basic(login: string, password: string) {
  return { authorization: `Basic ${Buffer.from(`${login}:${password}`).toString('base64')}` };
}

async function withPassword(t: TestApp, user: TestUser): Promise<TestUser> {
  await t.deps.database.db
    .update(users)
    .set({ passwordHash: await hashPassword(PASSWORD) })
    .where(eq(users.id, user.id));
  return user;
}

describeWithRedis('Bull Board at /admin/queues', () => {
  let t: TestApp;
  let admin: TestUser;
  let member: TestUser;
  const prefix = uniqueKey('admin');

  beforeAll(async () => {
    t = await createTestApp({
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: prefix,
      RUN_JOBS_IN_API: 'false',
      AUTH_RATE_LIMIT_ACCOUNT_MAX: '5',
      RATE_LIMIT_KEY_PREFIX: `${prefix}:rate-limit:`,
    });
    admin = await withPassword(t, await insertUser(t, { role: 'admin' }));
    member = await withPassword(t, await insertUser(t));
  });
  afterAll(async () => {
    await t?.close();
    await removeQueueKeys(prefix);
  });

  const get = (url: string, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'GET', url, headers });

  it('asks an anonymous browser to sign in instead of showing the page', async () => {
    const res = await get('/admin/queues');
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Basic realm="Conduit admin"/);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).not.toMatch(/<html/i);
  });

  it('guards the API and the static assets as well', async () => {
    expect((await get('/admin/queues/api/queues')).statusCode).toBe(401);
    expect((await get('/admin/queues/static/images/logo.svg')).statusCode).toBe(401);
  });

  it('refuses a bad token (401) and a non-admin (403)', async () => {
    expect((await get('/admin/queues', { authorization: 'Token not-a-jwt' })).statusCode).toBe(401);
    const res = await get('/admin/queues', member.headers);
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ status: 403, detail: 'Admins only' });
  });

  it('shows the dashboard and the queue to an admin with a token', async () => {
    const page = await get('/admin/queues', admin.headers);
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('Conduit jobs');
    // The page's own script loads too (relative to the <base href> the page sets).
    const script = /src="(static\/js\/main[^"]+)"/.exec(page.body)?.[1];
    expect(page.body).toContain('href="/admin/queues/"');
    const asset = await get(`/admin/queues/${script}`, admin.headers);
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toMatch(/javascript/);

    await t.deps.jobs.enqueue(
      probeJobType,
      { key: uniqueKey('seen') },
      { runAt: new Date(Date.now() + 60_000) },
    );
    const api = await get('/admin/queues/api/queues', admin.headers);
    expect(api.statusCode).toBe(200);
    const queue = api.json().queues.find((q: { name: string }) => q.name === 'jobs');
    expect(queue.counts.delayed).toBe(1);
  });

  it('lets a browser sign in with the admin account (HTTP Basic)', async () => {
    const page = await get('/admin/queues', basic(admin.email, PASSWORD));
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Conduit jobs');
    expect((await get('/admin/queues', basic(admin.username, PASSWORD))).statusCode).toBe(200);
  });

  it('refuses wrong Basic credentials (401) and a non-admin account (403)', async () => {
    const wrong = await get('/admin/queues', basic(admin.email, 'wrong password'));
    expect(wrong.statusCode).toBe(401);
    expect(wrong.headers['www-authenticate']).toMatch(/^Basic/);
    expect((await get('/admin/queues', basic(member.email, PASSWORD))).statusCode).toBe(403);
    expect((await get('/admin/queues', { authorization: 'Basic !!!' })).statusCode).toBe(401);
  });

  it('takes a demoted admin off the dashboard at once, even mid-session', async () => {
    const former = await withPassword(t, await insertUser(t, { role: 'admin' }));
    expect((await get('/admin/queues', basic(former.email, PASSWORD))).statusCode).toBe(200);
    await t.deps.database.db.update(users).set({ role: 'user' }).where(eq(users.id, former.id));
    expect((await get('/admin/queues', basic(former.email, PASSWORD))).statusCode).toBe(403);
  });

  it('counts Basic password guesses against the login rate limit', async () => {
    const target = await withPassword(t, await insertUser(t, { role: 'admin' }));
    for (let guess = 1; guess <= 5; guess += 1) {
      expect((await get('/admin/queues', basic(target.email, `guess ${guess}`))).statusCode).toBe(401);
    }
    const blocked = await get('/admin/queues', basic(target.email, PASSWORD));
    expect(blocked.statusCode).toBe(429);
    expect(blocked.headers['retry-after']).toBeDefined();
  });

  it('refuses a cross-site state change riding on the browser-held Basic credentials', async () => {
    const crossSite = await t.app.inject({
      method: 'PUT',
      url: '/admin/queues/api/queues/pause',
      headers: { ...basic(admin.email, PASSWORD), origin: 'https://evil.example', host: 'localhost:3000' },
    });
    expect(crossSite.statusCode).toBe(403);
    expect(await t.deps.jobs.bullmq?.queue.isPaused()).toBe(false);
  });

  it('keeps the dashboard out of the OpenAPI document', async () => {
    const doc = (await get('/openapi.json')).json();
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/admin'))).toEqual([]);
  });
});

describe('/admin/queues without Redis', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  it('is still admins only, and tells an admin why there is no dashboard', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/admin/queues' })).statusCode).toBe(401);
    const admin = await insertUser(t, { role: 'admin' });
    const res = await t.app.inject({ method: 'GET', url: '/admin/queues', headers: admin.headers });
    expect(res.statusCode).toBe(404);
    expect(res.json().detail).toMatch(/needs REDIS_URL/);
  });
});
