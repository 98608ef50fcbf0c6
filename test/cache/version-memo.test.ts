import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, expect, it, vi } from 'vitest';
import type { CacheStore } from '../../src/cache/port.js';
import { createRedisStore } from '../../src/cache/redis-store.js';
import { describeWithRedis, TEST_REDIS_URL } from '../support/services.js';

/**
 * The Redis store's memo of namespace versions (src/cache/redis-store.ts), on the real Redis: two
 * stores on one prefix stand for two API processes.
 */
describeWithRedis('namespace versions on Redis, remembered while the bump channel is heard', () => {
  const prefix = `test:memo:${randomBytes(6).toString('hex')}:`;
  const TTL = 60;
  let raw: Redis;
  const opened: CacheStore[] = [];

  function openStore(listening: boolean) {
    const subscriber = listening ? new Redis(TEST_REDIS_URL) : undefined;
    const store = createRedisStore(new Redis(TEST_REDIS_URL), prefix, subscriber);
    opened.push(store);
    return { store, subscriber };
  }
  /** Subscribed: a read is kept from now on. */
  async function listeningStore() {
    const opened = openStore(true);
    await vi.waitFor(async () => {
      await opened.store.versions(['probe:ready'], TTL);
      expect(opened.store.knownVersions?.(['probe:ready'])).toBeDefined();
    });
    return opened;
  }

  beforeAll(() => {
    raw = new Redis(TEST_REDIS_URL);
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
  });
  afterAll(async () => {
    const keys = await raw.keys(`${prefix}*`);
    if (keys.length) await raw.del(...keys);
    raw.disconnect();
  });

  it('treats a token that expired or was evicted as an invalidation, never as a default', async () => {
    const { store } = openStore(false);
    const [first] = await store.versions(['n:evicted'], TTL);
    await raw.del(`${prefix}v:n:evicted`); // what an LRU policy on the cache Redis may do at any time
    const [second] = await store.versions(['n:evicted'], TTL);
    expect(second).toMatch(/^[A-Za-z0-9_-]{12}$/);
    expect(second).not.toBe(first);
    // Without the bump channel nothing is remembered: every read asks Redis.
    expect(store.knownVersions?.(['n:evicted'])).toBeUndefined();
  });

  it('remembers what it read, and forgets it when another process bumps', async () => {
    const { store: a } = await listeningStore();
    const { store: b } = openStore(false);
    const [read] = await a.versions(['n:shared', 'n:other'], TTL);
    expect(a.knownVersions?.(['n:shared', 'n:other'])?.[0]).toBe(read);

    const heard = a.bumpsHeard?.() ?? 0;
    await b.bump(['n:shared'], TTL);
    await vi.waitFor(() => expect(a.bumpsHeard?.()).toBe(heard + 1));
    expect(a.knownVersions?.(['n:shared'])).toBeUndefined();
    // What the bump did not name is still known.
    expect(a.knownVersions?.(['n:other'])).toBeDefined();
    const [next] = await a.versions(['n:shared'], TTL);
    expect(next).not.toBe(read);
    expect(next).toBe((await b.versions(['n:shared'], TTL))[0]);
  });

  it('forgets everything on a bump message it cannot read', async () => {
    const { store } = await listeningStore();
    await store.versions(['n:garbled'], TTL);
    const heard = store.bumpsHeard?.() ?? 0;
    await raw.publish(`${prefix}bumps`, 'not a list of namespaces');
    await vi.waitFor(() => expect(store.bumpsHeard?.()).toBe(heard + 1));
    expect(store.knownVersions?.(['n:garbled'])).toBeUndefined();
  });

  it('forgets its own bump at once, without waiting for its message', async () => {
    const { store } = await listeningStore();
    const [read] = await store.versions(['n:own'], TTL);
    await store.bump(['n:own'], TTL);
    expect(store.knownVersions?.(['n:own'])).toBeUndefined();
    expect((await store.versions(['n:own'], TTL))[0]).not.toBe(read);
  });

  it('trusts nothing while its subscription is down, and remembers again once it is back', async () => {
    const { store, subscriber } = await listeningStore();
    await store.versions(['n:conn'], TTL);
    expect(store.knownVersions?.(['n:conn'])).toBeDefined();

    subscriber?.disconnect();
    // The connection's `close` event empties the memo.
    await vi.waitFor(() => expect(store.knownVersions?.(['n:conn'])).toBeUndefined());
    // A bump nobody here could hear meanwhile, then a read: not kept, the channel is not heard.
    await raw.set(`${prefix}v:n:conn`, 'bumped-while-deaf', 'EX', TTL);
    expect(await store.versions(['n:conn'], TTL)).toEqual(['bumped-while-deaf']);
    expect(store.knownVersions?.(['n:conn'])).toBeUndefined();

    await subscriber?.connect();
    await vi.waitFor(async () => {
      await store.versions(['n:conn'], TTL);
      expect(store.knownVersions?.(['n:conn'])).toEqual(['bumped-while-deaf']);
    });
  });
});
