import { describe, expect, it, vi } from 'vitest';
import { createMemoryStore } from '../../src/cache/memory-store.js';
import { ResponseCache } from '../../src/cache/response-cache.js';

describe('memory store', () => {
  it('keeps at most CACHE_MAX_ENTRIES entries, dropping the least recently used', async () => {
    const store = createMemoryStore(2);
    await store.set('a', '1', 60);
    await store.set('b', '2', 60);
    await store.get('a');
    await store.set('c', '3', 60);
    expect(await store.get('a')).toBe('1');
    expect(await store.get('b')).toBeUndefined();
    expect(await store.get('c')).toBe('3');
  });

  it('never reuses a version token, not even for a namespace pushed out of the LRU', async () => {
    const store = createMemoryStore(2);
    const [first] = await store.versions(['x'], 60);
    expect(await store.versions(['x'], 60)).toEqual([first]);
    await store.bump(['x'], 60);
    const [second] = await store.versions(['x'], 60);
    expect(second).not.toBe(first);

    await store.bump(['y', 'z'], 60); // three namespaces for two slots: x is pushed out
    const [third] = await store.versions(['x'], 60);
    expect([first, second]).not.toContain(third);
  });
});

describe('ResponseCache on the memory store', () => {
  it('serves what it stored until a namespace it depends on is invalidated', async () => {
    const cache = new ResponseCache(createMemoryStore(100), { ttlSeconds: 60, timeoutMs: 50 });
    expect(await cache.whenUp(1000)).toBe(true);
    let computed = 0;
    const compute = async () => String(++computed);
    const miss = await cache.fetch('k', ['a', 'b'], compute);
    expect(miss).toMatchObject({ body: '1', outcome: 'MISS' });
    expect(await cache.fetch('k', ['a', 'b'], compute)).toEqual({ ...miss, outcome: 'HIT' });
    await cache.invalidate(['c']);
    expect((await cache.fetch('k', ['a', 'b'], compute)).outcome).toBe('HIT');
    await cache.invalidate(['b']);
    const after = await cache.fetch('k', ['a', 'b'], compute);
    expect(after).toMatchObject({ body: '2', outcome: 'MISS' });
    expect(after.derivedKey).not.toBe(miss.derivedKey);
    expect(cache.stats()).toMatchObject({ hits: 2, misses: 2, bypasses: 0, invalidations: 2 });
    await cache.close();
  });

  it("keeps a variant's body per entry and variant versions: bumping either orphans it", async () => {
    const cache = new ResponseCache(createMemoryStore(100), { ttlSeconds: 60, timeoutMs: 50 });
    await cache.whenUp(1000);
    const viewer = { name: 'viewer:7', namespaces: ['viewer:7'] };
    const kept = { body: Buffer.from('{"y":1}'), etag: '"e1"' };
    const first = await cache.fetch('k', ['a'], async () => '{"x":1}', viewer);
    if (first.derivedKey === undefined) throw new Error('no derived key while the cache is up');
    cache.rememberDerived(first.derivedKey, kept);
    expect(await cache.fetch('k', ['a'], async () => 'unused', viewer)).toMatchObject({
      outcome: 'HIT',
      derived: kept,
    });
    // Another variant of the same entry, or no variant, reads the entry itself.
    expect(await cache.fetch('k', ['a'], async () => 'unused', { name: 'anonymous' })).toMatchObject({
      outcome: 'HIT',
      body: '{"x":1}',
    });
    expect((await cache.fetch('k', ['a'], async () => 'unused')).derived).toBeUndefined();

    // The viewer's own namespace: the entry stays, the viewer's body goes.
    await cache.invalidate(['viewer:7']);
    expect(await cache.fetch('k', ['a'], async () => 'unused', viewer)).toMatchObject({
      outcome: 'HIT',
      body: '{"x":1}',
    });
    const again = await cache.fetch('k', ['a'], async () => 'unused', viewer);
    cache.rememberDerived(again.derivedKey ?? '', kept);
    // The entry's namespace: both go.
    await cache.invalidate(['a']);
    expect(await cache.fetch('k', ['a'], async () => '{"x":2}', viewer)).toMatchObject({
      outcome: 'MISS',
      body: '{"x":2}',
    });
    await cache.close();
  });

  it('shares one compute between concurrent misses and lets a failed compute fail them all, uncached', async () => {
    const cache = new ResponseCache(createMemoryStore(100), { ttlSeconds: 60, timeoutMs: 50 });
    await cache.whenUp(1000);
    let computed = 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const compute = async () => {
      computed++;
      await gate;
      return 'body';
    };
    const all = Promise.all([1, 2, 3].map(() => cache.fetch('same', ['n'], compute)));
    // All three have found the entry missing before the one compute may finish.
    await vi.waitFor(() => expect(cache.stats().misses).toBe(3));
    release();
    expect((await all).map((r) => r.body)).toEqual(['body', 'body', 'body']);
    expect(computed).toBe(1);
    expect(cache.stats().hits).toBe(0);

    const failing = () => Promise.reject(new Error('database down'));
    await expect(cache.fetch('broken', ['n'], failing)).rejects.toThrow('database down');
    expect((await cache.fetch('broken', ['n'], async () => 'ok')).outcome).toBe('MISS');
    await cache.close();
  });
});
