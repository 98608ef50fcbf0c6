import { eq } from 'drizzle-orm';
import { decodeJwt, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { users } from '../../../src/db/schema.js';
import { requireViewer } from '../../../src/plugins/auth.js';
import { createTestApp, TEST_JWT_SECRET, type TestApp } from '../../support/app.js';
import { register } from '../users/helpers.js';

/**
 * Forged and stale access tokens, through HTTP. Expiry is shown with a correctly signed token whose
 * `exp` is in the past, so nothing sleeps (token.test.ts shows the lifetime comes from config).
 */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp(
    {},
    {
      beforeReady: (app) => {
        // An optional-auth route, as article lists and profiles are.
        app.get('/probe/optional', { preHandler: app.authenticateOptional }, async (request) => ({
          viewer: request.viewer ? requireViewer(request).username : null,
        }));
      },
    },
  );
});
afterAll(() => t.close());

const key = new TextEncoder().encode(TEST_JWT_SECRET);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const nowSeconds = () => Math.floor(Date.now() / 1000);

async function userId(token: string): Promise<number> {
  return Number(decodeJwt(token).sub);
}

function sign(claims: Record<string, unknown>, alg = 'HS256', signingKey: Uint8Array = key) {
  return new SignJWT(claims).setProtectedHeader({ alg, typ: 'JWT' }).sign(signingKey);
}

const get = (url: string, authorization?: string) =>
  t.app.inject({ method: 'GET', url, headers: authorization ? { authorization } : {} });

function expectInvalidToken(res: Awaited<ReturnType<typeof get>>) {
  expect(res.statusCode).toBe(401);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="conduit", error="invalid_token"/);
}

describe('access tokens', () => {
  it('are accepted when genuine, with Token or Bearer', async () => {
    const user = await register(t.app);
    const fresh = await t.deps.accessTokens.sign({ id: await userId(user.token), tokenVersion: 0 });
    expect((await get('/api/user', `Token ${fresh}`)).statusCode).toBe(200);
    expect((await get('/api/user', `Bearer ${fresh}`)).statusCode).toBe(200);
  });

  it.each([
    ['a scheme other than Token or Bearer', (token: string) => `Basic ${token}`],
    ['no token after the scheme', () => 'Token'],
    ['garbage', () => 'Bearer not-a-jwt'],
  ])('refuse %s', async (_, header) => {
    const user = await register(t.app);
    expectInvalidToken(await get('/api/user', header(user.token)));
  });

  it('refuse alg: none', async () => {
    const user = await register(t.app);
    const claims = decodeJwt(user.token);
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims, exp: nowSeconds() + 600 })}.`;
    expectInvalidToken(await get('/api/user', `Token ${unsigned}`));
  });

  it('refuse a tampered payload', async () => {
    const victim = await register(t.app);
    const attacker = await register(t.app);
    const [header, , signature] = attacker.token.split('.');
    const claims = { ...decodeJwt(attacker.token), sub: String(await userId(victim.token)) };
    expectInvalidToken(await get('/api/user', `Token ${header}.${b64(claims)}.${signature}`));
  });

  it('refuse a token signed with another key', async () => {
    const user = await register(t.app);
    const forged = await sign(
      { ...decodeJwt(user.token), exp: nowSeconds() + 600 },
      'HS256',
      new TextEncoder().encode('another-secret-that-is-long-enough-0123456789'),
    );
    expectInvalidToken(await get('/api/user', `Token ${forged}`));
  });

  it('refuse the right key under another algorithm (HS512, RS256)', async () => {
    const user = await register(t.app);
    const claims = { ...decodeJwt(user.token), exp: nowSeconds() + 600 };
    expectInvalidToken(await get('/api/user', `Token ${await sign(claims, 'HS512')}`));
    const { privateKey } = await generateKeyPair('RS256');
    const rsa = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256' }).sign(privateKey);
    expectInvalidToken(await get('/api/user', `Token ${rsa}`));
  });

  it('refuse a token minted for another issuer or audience', async () => {
    const user = await register(t.app);
    const claims = { ...decodeJwt(user.token), exp: nowSeconds() + 600 };
    expectInvalidToken(await get('/api/user', `Token ${await sign({ ...claims, iss: 'someone-else' })}`));
    expectInvalidToken(await get('/api/user', `Token ${await sign({ ...claims, aud: 'someone-else' })}`));
  });

  it('refuse an expired token, saying so', async () => {
    const user = await register(t.app);
    const expired = await sign({ ...decodeJwt(user.token), iat: nowSeconds() - 120, exp: nowSeconds() - 60 });
    const res = await get('/api/user', `Token ${expired}`);
    expectInvalidToken(res);
    expect(res.json().detail).toBe('The access token expired');
  });

  it('on optional-auth routes: anonymous without a token, 401 (not anonymous) with a bad one', async () => {
    const user = await register(t.app);
    const fresh = await t.deps.accessTokens.sign({ id: await userId(user.token), tokenVersion: 0 });
    expect((await get('/probe/optional')).json()).toEqual({ viewer: null });
    expect((await get('/probe/optional', `Token ${fresh}`)).json()).toEqual({ viewer: user.username });
    const expired = await sign({ ...decodeJwt(user.token), exp: nowSeconds() - 60 });
    expectInvalidToken(await get('/probe/optional', `Token ${expired}`));
    expectInvalidToken(await get('/probe/optional', 'Token not-a-jwt'));
  });
});

describe('the viewer lookup of concurrent requests', () => {
  it('is one query for requests that arrive together, each answered with its own viewer', async () => {
    const people = await Promise.all([1, 2, 3].map(() => register(t.app)));
    // Tokens seen once are remembered by the signer; then nothing waits on the thread pool.
    for (const person of people)
      expect((await get('/probe/optional', `Token ${person.token}`)).statusCode).toBe(200);

    const twice = [...people, ...people];
    t.queries.reset();
    const answers = await Promise.all(twice.map((person) => get('/probe/optional', `Token ${person.token}`)));
    expect(answers.map((res) => res.json().viewer)).toEqual(twice.map((person) => person.username));
    // Only the lookups: the sign-up emails of `register` may be sent in the background meanwhile.
    expect(t.queries.queries.filter((query) => query.includes('= any($1)'))).toHaveLength(1);
  });

  it('still finds a user deleted a moment ago gone, whoever else asks in the same turn', async () => {
    const [gone, stays] = await Promise.all([register(t.app), register(t.app)]);
    await t.deps.database.db.delete(users).where(eq(users.id, await userId(gone.token)));
    const [goneAnswer, staysAnswer] = await Promise.all([
      get('/probe/optional', `Token ${gone.token}`),
      get('/probe/optional', `Token ${stays.token}`),
    ]);
    expectInvalidToken(goneAnswer);
    expect(goneAnswer.json().detail).toBe('The user of this token no longer exists');
    expect(staysAnswer.json().viewer).toBe(stays.username);
  });
});
