import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { insertUser } from '../support/users.js';
import { PROBE_NAMESPACE, type Probe, probeRoutes } from './probe-routes.js';

/** The embedded default (no Redis): same behaviour through HTTP, from an in-process LRU. */
const probe: Probe = { gatedComputes: 0, gate: Promise.resolve() };
let t: TestApp;
let db: Database;

beforeAll(async () => {
  t = await createTestApp(
    { REDIS_URL: undefined, CACHE_REDIS_URL: undefined },
    { beforeReady: probeRoutes(() => db, probe) },
  );
  db = t.deps.database.db;
});
afterAll(() => t?.close());

const get = (url: string, headers: Record<string, string> = {}) =>
  t.app.inject({ method: 'GET', url, headers });

it('caches in memory without Redis: MISS, then a HIT with no SQL, then MISS after an invalidation', async () => {
  expect(t.app.cache.backend).toBe('memory');
  await insertUser(t, { username: 'in_memory' });
  expect((await get('/probe/users')).headers['x-cache']).toBe('MISS');
  t.queries.reset();
  const hit = await get('/probe/users');
  expect(hit.headers['x-cache']).toBe('HIT');
  expect(t.queries.count).toBe(0);

  await insertUser(t, { username: 'in_memory_later' });
  await t.app.cache.invalidate([PROBE_NAMESPACE]);
  const fresh = await get('/probe/users');
  expect(fresh.headers['x-cache']).toBe('MISS');
  expect(fresh.json().users.map((u: { username: string }) => u.username)).toContain('in_memory_later');
  expect((await get('/probe/users', { 'if-none-match': fresh.headers.etag as string })).statusCode).toBe(304);
});

it('reports the memory cache on /health/ready', async () => {
  const res = await get('/health/ready');
  expect(res.json().checks.cache).toMatchObject({ status: 'up', detail: { backend: 'memory', state: 'up' } });
});
