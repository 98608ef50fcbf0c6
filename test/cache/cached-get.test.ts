import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, expect, it, vi } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { Database } from '../../src/db/client.js';
import { follows } from '../../src/db/schema.js';
import { createDeps, type Deps } from '../../src/deps.js';
import { createTestApp, TEST_JWT_SECRET, type TestApp } from '../support/app.js';
import { describeWithRedis, TEST_REDIS_URL } from '../support/services.js';
import { insertUser } from '../support/users.js';
import { PROBE_NAMESPACE, type Probe, probeRoutes } from './probe-routes.js';

/** `cachedGet` end to end on the shared Redis, through HTTP, against the real database. */
describeWithRedis('response cache on Redis', () => {
  const prefix = `test:cache:${randomBytes(6).toString('hex')}:`;
  const probe: Probe = { gatedComputes: 0, gate: Promise.resolve() };
  let t: TestApp;
  let db: Database;
  let raw: Redis;

  beforeAll(async () => {
    t = await createTestApp(
      // A loaded CI machine must not turn HITs into BYPASSes: timeouts are outage.test.ts' business.
      {
        CACHE_REDIS_URL: TEST_REDIS_URL,
        CACHE_KEY_PREFIX: prefix,
        CACHE_TTL_SECONDS: '120',
        CACHE_TIMEOUT_MS: '1000',
      },
      { beforeReady: probeRoutes(() => db, probe) },
    );
    db = t.deps.database.db;
    raw = new Redis(TEST_REDIS_URL);
  });
  afterAll(async () => {
    // Only this suite's keys (random prefix); never FLUSHDB on the shared server.
    const keys = await keysOf(raw, prefix);
    if (keys.length) await raw.del(...keys);
    raw.disconnect();
    await t?.close();
  });
  beforeEach(async () => {
    // Each test starts from entries nobody can reach.
    await t.app.cache.invalidate([PROBE_NAMESPACE]);
  });

  const get = (url: string, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'GET', url, headers });

  it('answers a MISS from the database, then a HIT that runs no SQL at all', async () => {
    await insertUser(t, { username: 'miss_then_hit' });
    t.queries.reset();
    const miss = await get('/probe/users');
    expect(miss.statusCode).toBe(200);
    expect(miss.headers['x-cache']).toBe('MISS');
    expect(t.queries.count).toBeGreaterThan(0);
    expect(miss.json().users.map((u: { username: string }) => u.username)).toContain('miss_then_hit');

    t.queries.reset();
    const hit = await get('/probe/users');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(t.queries.count).toBe(0);
    expect(hit.body).toBe(miss.body);
    expect(hit.headers['cache-control']).toBe('private, no-cache');
    expect(hit.headers.vary).toMatch(/Authorization/);
  });

  it('keeps one entry per normalised query: order of parameters does not matter, values do', async () => {
    expect((await get('/probe/users?order=desc&limit=5')).headers['x-cache']).toBe('MISS');
    expect((await get('/probe/users?limit=5&order=desc')).headers['x-cache']).toBe('HIT');
    expect((await get('/probe/users?limit=6&order=desc')).headers['x-cache']).toBe('MISS');
  });

  it('sets a TTL on every key it writes, entries and namespace versions alike', async () => {
    await get('/probe/users?limit=3');
    await get('/probe/users?limit=3');
    await t.app.cache.invalidate([PROBE_NAMESPACE, 'probe:other']);
    const keys = await keysOf(raw, prefix);
    expect(keys.some((key) => key.includes(':d:'))).toBe(true);
    expect(keys.some((key) => key.includes(':v:'))).toBe(true);
    for (const key of keys) {
      const ttl = await raw.ttl(key);
      expect(ttl, key).toBeGreaterThan(0);
      // Entries live CACHE_TTL_SECONDS; versions outlive the entries built on them.
      expect(ttl, key).toBeLessThanOrEqual(key.includes(':d:') ? 120 : 120 * 2 + 60);
    }
  });

  it('answers the new state right after an invalidation, and stale data without one', async () => {
    const before = (await get('/probe/users')).json();
    await insertUser(t, { username: 'written_later' });
    // Without an invalidation the entry is served as is: the cache really answers.
    const stale = await get('/probe/users');
    expect(stale.headers['x-cache']).toBe('HIT');
    expect(stale.json()).toEqual(before);

    await t.app.cache.invalidate([PROBE_NAMESPACE]);
    const fresh = await get('/probe/users');
    expect(fresh.headers['x-cache']).toBe('MISS');
    expect(fresh.json().usersCount).toBe(before.usersCount + 1);
    expect(fresh.json().users.map((u: { username: string }) => u.username)).toContain('written_later');
  });

  it('leaves entries of other namespaces alone', async () => {
    await get('/probe/users');
    await t.app.cache.invalidate(['probe:unrelated']);
    expect((await get('/probe/users')).headers['x-cache']).toBe('HIT');
  });

  it('answers 304 to a matching If-None-Match, and 200 with a new ETag once the data changed', async () => {
    const first = await get('/probe/users');
    const etag = first.headers.etag;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);

    const notModified = await get('/probe/users', { 'if-none-match': etag as string });
    expect(notModified.statusCode).toBe(304);
    expect(notModified.body).toBe('');
    expect(notModified.headers.etag).toBe(etag);
    expect(notModified.headers['x-cache']).toBe('HIT');

    // A list of validators and the weak form match too (RFC 9110 weak comparison for GET).
    expect((await get('/probe/users', { 'if-none-match': `"other", W/${etag}` })).statusCode).toBe(304);
    expect((await get('/probe/users', { 'if-none-match': '"something-else"' })).statusCode).toBe(200);

    await insertUser(t);
    await t.app.cache.invalidate([PROBE_NAMESPACE]);
    const changed = await get('/probe/users', { 'if-none-match': etag as string });
    expect(changed.statusCode).toBe(200);
    expect(changed.headers.etag).not.toBe(etag);
  });

  it('fills viewer-specific fields per viewer and never serves one viewer’s flags to another', async () => {
    const author = await insertUser(t, { username: 'followed_author' });
    const fan = await insertUser(t);
    const stranger = await insertUser(t);
    await t.app.cache.invalidate([PROBE_NAMESPACE]);
    await db.insert(follows).values({ followerId: fan.id, followingId: author.id });
    const flagOf = (body: { users: { username: string; following: boolean }[] }) =>
      body.users.find((u) => u.username === 'followed_author')?.following;

    const asFan = await get('/probe/users', fan.headers);
    expect(asFan.headers['x-cache']).toBe('MISS');
    expect(flagOf(asFan.json())).toBe(true);

    const asStranger = await get('/probe/users', stranger.headers);
    expect(asStranger.headers['x-cache']).toBe('HIT');
    expect(flagOf(asStranger.json())).toBe(false);
    expect(asStranger.headers.etag).not.toBe(asFan.headers.etag);

    const anonymous = await get('/probe/users');
    expect(anonymous.headers['x-cache']).toBe('HIT');
    expect(flagOf(anonymous.json())).toBe(false);

    // The flag is read per request: an unfollow shows at once, even on a HIT.
    await db.delete(follows);
    const afterUnfollow = await get('/probe/users', fan.headers);
    expect(afterUnfollow.headers['x-cache']).toBe('HIT');
    expect(flagOf(afterUnfollow.json())).toBe(false);
  });

  it('computes a key once for concurrent misses in one process (stampede)', async () => {
    let open: () => void = () => {};
    probe.gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const computesBefore = probe.gatedComputes;
    const missesBefore = t.app.cache.stats().misses;
    const requests = Array.from({ length: 8 }, () => get('/probe/gated'));
    // Every request has found the entry missing before the single compute may finish.
    await vi.waitFor(() => expect(t.app.cache.stats().misses - missesBefore).toBe(8));
    open();
    const responses = await Promise.all(requests);
    expect(probe.gatedComputes - computesBefore).toBe(1);
    expect(new Set(responses.map((res) => res.body)).size).toBe(1);
    expect(responses.every((res) => res.headers['x-cache'] === 'MISS')).toBe(true);
    expect((await get('/probe/gated')).headers['x-cache']).toBe('HIT');
  });

  it('reports the cache on /health/ready', async () => {
    const res = await get('/health/ready');
    expect(res.statusCode).toBe(200);
    expect(res.json().checks.cache).toMatchObject({
      status: 'up',
      detail: { backend: 'redis', state: 'up', pendingInvalidations: 0 },
    });
  });

  it('agrees across two instances sharing one Redis (and one database)', async () => {
    const second = await secondInstance(t, prefix);
    try {
      await insertUser(t, { username: 'seen_by_both' });
      await t.app.cache.invalidate([PROBE_NAMESPACE]);
      const first = await get('/probe/users');
      expect(first.headers['x-cache']).toBe('MISS');
      const other = await second.app.inject({ method: 'GET', url: '/probe/users' });
      expect(other.headers['x-cache']).toBe('HIT');
      expect(other.body).toBe(first.body);

      // A write on the second instance invalidates for the first one too.
      await insertUser(t, { username: 'written_on_second' });
      // The first instance hears of it on the bump channel (it remembers versions until then).
      const heard = t.app.cache.stats().bumpsHeard;
      await second.deps.cache.invalidate([PROBE_NAMESPACE]);
      await vi.waitFor(() => expect(t.app.cache.stats().bumpsHeard).toBeGreaterThan(heard));
      const after = await get('/probe/users');
      expect(after.headers['x-cache']).toBe('MISS');
      expect(after.json().users.map((u: { username: string }) => u.username)).toContain('written_on_second');
      const otherAfter = await second.app.inject({ method: 'GET', url: '/probe/users' });
      expect(otherAfter.headers['x-cache']).toBe('HIT');
      expect(otherAfter.body).toBe(after.body);
    } finally {
      await second.close();
    }
  });
});

/** Another API instance on the same database and cache prefix, as a second process would be. */
async function secondInstance(t: TestApp, prefix: string) {
  const config = loadConfig({
    NODE_ENV: 'test',
    JWT_SECRET: TEST_JWT_SECRET,
    DATA_DIR: t.dataDir,
    LOG_LEVEL: 'silent',
    CACHE_REDIS_URL: TEST_REDIS_URL,
    CACHE_KEY_PREFIX: prefix,
    CACHE_TTL_SECONDS: '120',
    CACHE_TIMEOUT_MS: '1000',
  });
  // The database belongs to the first instance: the second must not close it.
  const deps: Deps = await createDeps(config, { database: { ...t.deps.database, close: async () => {} } });
  const probe: Probe = { gatedComputes: 0, gate: Promise.resolve() };
  const app = await buildApp(deps);
  probeRoutes(() => t.deps.database.db, probe)(app);
  await app.ready();
  return {
    app,
    deps,
    close: async () => {
      await app.close();
      await deps.close();
    },
  };
}

async function keysOf(redis: Redis, prefix: string): Promise<string[]> {
  // SCAN is fine in a test; the application never lists keys.
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}
