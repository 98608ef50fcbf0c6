import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../support/app.js';
import { describeWithRedis, TEST_REDIS_URL } from '../../support/services.js';
import { newUserFields, register } from '../users/helpers.js';

/** Small limits so a handful of requests reaches them; every client address is made up per test. */
const LIMITS = {
  AUTH_RATE_LIMIT_IP_MAX: '3',
  AUTH_RATE_LIMIT_ACCOUNT_MAX: '2',
  AUTH_RATE_LIMIT_WINDOW: '1m',
};

let ipCounter = 0;
const freshIp = () => `10.${process.pid % 250}.${Math.floor(ipCounter / 250)}.${(ipCounter++ % 250) + 1}`;

function loginFrom(t: TestApp, ip: string, email: string, password = 'wrong password') {
  return t.app.inject({
    method: 'POST',
    url: '/api/users/login',
    remoteAddress: ip,
    payload: { user: { email, password } },
  });
}

function expectRateLimited(res: Awaited<ReturnType<typeof loginFrom>>) {
  expect(res.statusCode).toBe(429);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const retryAfter = Number(res.headers['retry-after']);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(res.json()).toMatchObject({ status: 429, title: 'Too Many Requests', errors: expect.any(Object) });
}

describe('auth rate limits (in memory)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(LIMITS);
  });
  afterAll(() => t.close());

  it('limit login attempts per client address, whatever the account', async () => {
    const ip = freshIp();
    for (let i = 0; i < 3; i++)
      expect((await loginFrom(t, ip, `someone${i}@example.com`)).statusCode).toBe(401);
    expectRateLimited(await loginFrom(t, ip, 'someone-else@example.com'));
    // The same address is limited on the token endpoint too (one bucket for credential checks)…
    const viaToken = await t.app.inject({
      method: 'POST',
      url: '/api/auth/token',
      remoteAddress: ip,
      payload: { grant_type: 'password', username: 'x@example.com', password: 'y' },
    });
    expectRateLimited(viaToken);
    // …but not another address.
    expect((await loginFrom(t, freshIp(), 'someone@example.com')).statusCode).toBe(401);
  });

  it('limit attempts per account, whatever the address, the email case counting as one account', async () => {
    const user = await register(t.app);
    expect((await loginFrom(t, freshIp(), user.email)).statusCode).toBe(401);
    expect((await loginFrom(t, freshIp(), user.email.toUpperCase())).statusCode).toBe(401);
    // Even the right password waits now: the account is being guessed at.
    expectRateLimited(await loginFrom(t, freshIp(), user.email, user.password));
    const other = await register(t.app);
    expect((await loginFrom(t, freshIp(), other.email, other.password)).statusCode).toBe(200);
  });

  it('count token-endpoint usernames as accounts', async () => {
    const user = await register(t.app);
    const attempt = () =>
      t.app.inject({
        method: 'POST',
        url: '/api/auth/token',
        remoteAddress: freshIp(),
        payload: { grant_type: 'password', username: user.username, password: 'wrong password' },
      });
    expect((await attempt()).statusCode).toBe(400);
    expect((await attempt()).statusCode).toBe(400);
    expectRateLimited(await attempt());
  });

  it('limit registrations per client address', async () => {
    const ip = freshIp();
    const signUp = () =>
      t.app.inject({
        method: 'POST',
        url: '/api/users',
        remoteAddress: ip,
        payload: { user: newUserFields() },
      });
    for (let i = 0; i < 3; i++) expect((await signUp()).statusCode).toBe(201);
    expectRateLimited(await signUp());
  });
});

describeWithRedis('auth rate limits (Redis)', () => {
  const prefix = `conduit-test:${randomBytes(6).toString('hex')}:rate-limit:`;
  const env = { ...LIMITS, REDIS_URL: TEST_REDIS_URL, RATE_LIMIT_KEY_PREFIX: prefix };
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    a = await createTestApp(env);
    b = await createTestApp(env);
  });
  afterAll(async () => {
    const redis = a?.deps.redis;
    const keys = redis ? await redis.keys(`${prefix}*`) : [];
    if (redis && keys.length > 0) await redis.del(...keys);
    await a?.close();
    await b?.close();
  });

  it('share counters between two instances', async () => {
    const ip = freshIp();
    expect((await loginFrom(a, ip, 'one@example.com')).statusCode).toBe(401);
    expect((await loginFrom(b, ip, 'two@example.com')).statusCode).toBe(401);
    expect((await loginFrom(a, ip, 'three@example.com')).statusCode).toBe(401);
    expectRateLimited(await loginFrom(b, ip, 'four@example.com'));
    const keys = await a.deps.redis?.keys(`${prefix}*`);
    expect(keys?.length).toBeGreaterThan(0);
    // Accounts appear in Redis only as hashes.
    expect(keys?.join(' ')).not.toContain('@');
  });

  it('name each counter by bucket, kind and client address or account hash', async () => {
    const ip = freshIp();
    expect((await loginFrom(a, ip, 'named@example.com')).statusCode).toBe(401);
    const keys = (await a.deps.redis?.keys(`${prefix}*`)) ?? [];
    expect(keys).toContain(`${prefix}login:ip:${ip}`);
    expect(keys.filter((key) => key.startsWith(`${prefix}login:account:`))).toEqual(
      expect.arrayContaining([expect.stringMatching(new RegExp(`^${prefix}login:account:[0-9a-f]{32}$`))]),
    );
    // Every key is one of those shapes: nothing like the `…undefinedundefined-…` names of old.
    for (const key of keys) {
      expect(key).toMatch(new RegExp(`^${prefix}(login|register):(ip|account):[^:]+$`));
    }
  });
});
