import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import type { Database } from '../../src/db/client.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { insertUser } from '../support/users.js';
import { PROBE_NAMESPACE, type Probe, probeRoutes } from './probe-routes.js';
import { describeWithRedisServer, ThrowawayRedis } from './throwaway-redis.js';

/**
 * Redis trouble on a private redis-server (paused, killed, restarted on the same port): the API
 * keeps answering from the database, says so, and caches again by itself afterwards.
 */
describeWithRedisServer('response cache when its Redis fails', () => {
  const probe: Probe = { gatedComputes: 0, gate: Promise.resolve() };
  let server: ThrowawayRedis;
  let t: TestApp;
  let db: Database;

  beforeAll(async () => {
    server = await ThrowawayRedis.start();
    t = await createTestApp(
      {
        CACHE_REDIS_URL: server.url,
        CACHE_KEY_PREFIX: `test:outage:${randomBytes(6).toString('hex')}:`,
        // Generous for a loaded CI machine; production's default is 50.
        CACHE_TIMEOUT_MS: '200',
      },
      { beforeReady: probeRoutes(() => db, probe) },
    );
    db = t.deps.database.db;
  });
  afterAll(async () => {
    await t?.close();
    await server?.stop();
  });

  const get = (url: string) => t.app.inject({ method: 'GET', url });
  const usernames = async (url = '/probe/users?limit=100') => {
    const res = await get(url);
    return {
      cache: res.headers['x-cache'],
      names: res.json().users.map((u: { username: string }) => u.username),
    };
  };
  const cacheHealth = async () => {
    const res = await get('/health/ready');
    // The cache being down never takes the instance out of rotation: it still answers.
    expect(res.statusCode).toBe(200);
    return res.json().checks.cache.detail;
  };
  const waitUntilUp = () =>
    vi.waitFor(() => expect(t.app.cache.health().state).toBe('up'), { timeout: 5000 });

  it('times out on a Redis that stopped answering, answers from the database, and never serves what a missed invalidation should have removed', async () => {
    await waitUntilUp();
    await insertUser(t, { username: 'before_pause' });
    expect((await usernames()).cache).toBe('MISS');
    expect((await usernames()).cache).toBe('HIT');

    server.pause();
    try {
      // A request this process has not answered before needs Redis for its entry.
      const during = await usernames('/probe/users?limit=99');
      expect(during.cache).toBe('BYPASS');
      expect(during.names).toContain('before_pause');
      const health = await cacheHealth();
      expect(health).toMatchObject({ backend: 'redis', state: 'bypass' });
      // It gave up on our bound of CACHE_TIMEOUT_MS, not on some connection-level timeout.
      expect(health.lastError).toBe('no answer within 200 ms');

      // A write while Redis hangs: its invalidation cannot be written, so it is kept for later.
      await insertUser(t, { username: 'during_pause' });
      await t.app.cache.invalidate([PROBE_NAMESPACE]);
      expect((await cacheHealth()).pendingInvalidations).toBe(1);
      const afterWrite = await usernames();
      expect(afterWrite.cache).toBe('BYPASS');
      expect(afterWrite.names).toContain('during_pause');
    } finally {
      server.resume();
    }

    // The old entry is still in Redis; the replayed invalidation makes it unreachable.
    await waitUntilUp();
    expect((await cacheHealth()).pendingInvalidations).toBe(0);
    const resumed = await usernames();
    expect(resumed.cache).toBe('MISS');
    expect(resumed.names).toContain('during_pause');
    expect((await usernames()).cache).toBe('HIT');
  });

  it('bypasses a Redis that crashed and caches again once it is back on the same port', async () => {
    await waitUntilUp();
    await server.kill();
    await insertUser(t, { username: 'while_down' });
    const down = await usernames();
    expect(down.cache).toBe('BYPASS');
    expect(down.names).toContain('while_down');
    expect(await cacheHealth()).toMatchObject({ backend: 'redis', state: 'bypass' });

    await server.restart();
    await waitUntilUp();
    expect(await cacheHealth()).toMatchObject({ state: 'up', pendingInvalidations: 0 });
    const back = await usernames();
    expect(back.cache).toBe('MISS');
    expect(back.names).toContain('while_down');
    expect((await usernames()).cache).toBe('HIT');
  });
});
