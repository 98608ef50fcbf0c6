import { decodeJwt, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
    const fresh = await t.deps.accessTokens.sign(await userId(user.token));
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
    const fresh = await t.deps.accessTokens.sign(await userId(user.token));
    expect((await get('/probe/optional')).json()).toEqual({ viewer: null });
    expect((await get('/probe/optional', `Token ${fresh}`)).json()).toEqual({ viewer: user.username });
    const expired = await sign({ ...decodeJwt(user.token), exp: nowSeconds() - 60 });
    expectInvalidToken(await get('/probe/optional', `Token ${expired}`));
    expectInvalidToken(await get('/probe/optional', 'Token not-a-jwt'));
  });
});
