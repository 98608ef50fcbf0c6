import { eq } from 'drizzle-orm';
import { decodeJwt, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refreshTokens, users } from '../../../src/db/schema.js';
import { waitFor } from '../../jobs/support.js';
import {
  createSecondInstance,
  createTestApp,
  TEST_JWT_SECRET,
  type TestApp,
  testDatabaseKind,
} from '../../support/app.js';
import { insertUser } from '../../support/users.js';
import { type RegisteredUser, register } from '../users/helpers.js';

/**
 * Token lifetimes (a RealWorld session vs an OAuth2 access token) and revocation: a password
 * change, a reset (account.test.ts, through the email) and sign-out-everywhere end every token
 * issued before them, at once and on every instance, at no extra query per request.
 */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const lifetime = (jwt: string) => {
  const { iat, exp } = decodeJwt(jwt);
  return (exp ?? 0) - (iat ?? 0);
};
const auth = (token: string) => ({ authorization: `Token ${token}` });

const getUser = (token: string, app = t.app) =>
  app.inject({ method: 'GET', url: '/api/user', headers: auth(token) });

async function oauthLogin(user: RegisteredUser, app = t.app) {
  const res = await app.inject({
    method: 'POST',
    url: '/api/auth/token',
    headers: FORM,
    payload: new URLSearchParams({
      grant_type: 'password',
      username: user.email,
      password: user.password,
    }).toString(),
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { access_token: string; refresh_token: string; expires_in: number };
}

const refresh = (refreshToken: string, app = t.app) =>
  app.inject({
    method: 'POST',
    url: '/api/auth/token',
    headers: FORM,
    payload: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString(),
  });

const signOutEverywhere = (token: string, app = t.app) =>
  app.inject({ method: 'POST', url: '/api/auth/sign-out-everywhere', headers: auth(token) });

function expectRevoked(res: Awaited<ReturnType<typeof getUser>>) {
  expect(res.statusCode).toBe(401);
  expect(res.headers['www-authenticate']).toMatch(/error="invalid_token"/);
  expect(res.json().detail).toBe('The access token was revoked');
}

describe('token lifetimes', () => {
  it('a RealWorld token lives 7 days, an OAuth2 access token 15 minutes', async () => {
    const user = await register(t.app);
    expect(lifetime(user.token)).toBe(7 * 86400);
    const login = await t.app.inject({
      method: 'POST',
      url: '/api/users/login',
      payload: { user: { email: user.email, password: user.password } },
    });
    expect(lifetime(login.json().user.token)).toBe(7 * 86400);
    expect(lifetime((await getUser(user.token)).json().user.token)).toBe(7 * 86400);
    const oauth = await oauthLogin(user);
    expect(oauth.expires_in).toBe(900);
    expect(lifetime(oauth.access_token)).toBe(900);
    const refreshed = (await refresh(oauth.refresh_token)).json();
    expect(lifetime(refreshed.access_token)).toBe(900);
  });

  it('come from SESSION_TOKEN_TTL and ACCESS_TOKEN_TTL', async () => {
    const other = await createTestApp({ SESSION_TOKEN_TTL: '12h', ACCESS_TOKEN_TTL: '5m' });
    try {
      const user = await register(other.app);
      expect(lifetime(user.token)).toBe(12 * 3600);
      const oauth = await oauthLogin(user, other.app);
      expect(oauth.expires_in).toBe(300);
      expect(lifetime(oauth.access_token)).toBe(300);
    } finally {
      await other.close();
    }
  });
});

describe('a password change (PUT /api/user)', () => {
  it('revokes every earlier token at once and answers a fresh one that works', async () => {
    const user = await register(t.app);
    const oauth = await oauthLogin(user);
    expect((await getUser(user.token)).statusCode).toBe(200);
    expect((await getUser(oauth.access_token)).statusCode).toBe(200);

    // Within the same second as the tokens above: the version, not a timestamp, decides.
    const changed = await t.app.inject({
      method: 'PUT',
      url: '/api/user',
      headers: auth(user.token),
      payload: { user: { password: 'a brand new password' } },
    });
    expect(changed.statusCode).toBe(200);
    const fresh: string = changed.json().user.token;
    expect(lifetime(fresh)).toBe(7 * 86400);

    expectRevoked(await getUser(user.token));
    expectRevoked(await getUser(oauth.access_token));
    expect((await refresh(oauth.refresh_token)).statusCode).toBe(400);
    expect((await getUser(fresh)).statusCode).toBe(200);
  });

  it('revokes nothing when only the profile changes', async () => {
    const user = await register(t.app);
    const changed = await t.app.inject({
      method: 'PUT',
      url: '/api/user',
      headers: auth(user.token),
      payload: { user: { bio: 'still signed in' } },
    });
    expect(changed.statusCode).toBe(200);
    expect((await getUser(user.token)).statusCode).toBe(200);
  });
});

describe('POST /api/auth/sign-out-everywhere', () => {
  it('revokes every access and refresh token of the user, its own token included', async () => {
    const user = await register(t.app);
    const oauth = await oauthLogin(user);
    const other = await register(t.app);

    const res = await signOutEverywhere(oauth.access_token);
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');

    expectRevoked(await getUser(user.token));
    expectRevoked(await getUser(oauth.access_token));
    const refreshed = await refresh(oauth.refresh_token);
    expect(refreshed.statusCode).toBe(400);
    expect(refreshed.json().error).toBe('invalid_grant');
    // Other users are untouched; signing in again works.
    expect((await getUser(other.token)).statusCode).toBe(200);
    expect((await getUser((await oauthLogin(user)).access_token)).statusCode).toBe(200);
  });

  it('answers 401 without a valid token: a revoked one, or none', async () => {
    const user = await register(t.app);
    expect((await signOutEverywhere(user.token)).statusCode).toBe(204);
    const again = await signOutEverywhere(user.token);
    expect(again.statusCode).toBe(401);
    expect(again.headers['content-type']).toMatch(/^application\/problem\+json/);
    const anonymous = await t.app.inject({ method: 'POST', url: '/api/auth/sign-out-everywhere' });
    expect(anonymous.statusCode).toBe(401);
  });

  it('leaves no refresh token of the user rotatable, even one its revocation did not mark', async () => {
    const user = await register(t.app);
    const oauth = await oauthLogin(user);
    expect((await signOutEverywhere(user.token)).statusCode).toBe(204);
    // As if a rotation racing the sign-out had written its successor after the revocation's UPDATE.
    const [row] = await t.deps.database.db
      .select({ userId: refreshTokens.userId })
      .from(refreshTokens)
      .innerJoin(users, eq(users.id, refreshTokens.userId))
      .where(eq(users.email, user.email))
      .limit(1);
    await t.deps.database.db
      .update(refreshTokens)
      .set({ revokedAt: null })
      .where(eq(refreshTokens.userId, row?.userId ?? 0));
    expect((await refresh(oauth.refresh_token)).statusCode).toBe(400);
  });
});

describe('revocation and the caches', () => {
  it('a revoked token gets no cached response, remembered or conditional', async () => {
    const user = await register(t.app);
    const list = (headers: Record<string, string>) =>
      t.app.inject({ method: 'GET', url: '/api/articles', headers: { ...auth(user.token), ...headers } });
    // Twice: the second answer is this viewer's kept response, and the token is a remembered one.
    expect((await list({})).statusCode).toBe(200);
    const kept = await list({});
    expect(kept.statusCode).toBe(200);
    expect(kept.headers['x-cache']).toBe('HIT');
    const etag = String(kept.headers.etag);
    expect((await list({ 'if-none-match': etag })).statusCode).toBe(304);

    expect((await signOutEverywhere(user.token)).statusCode).toBe(204);
    expectRevoked(await list({}));
    expectRevoked(await list({ 'if-none-match': etag }));
  });

  it('tokens from before versions existed (no ver claim) count as version 0 until the first revocation', async () => {
    const user = await register(t.app);
    const { sub } = decodeJwt(user.token);
    const legacy = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(String(sub))
      .setIssuer('conduit-api')
      .setAudience('conduit-api')
      .setIssuedAt()
      .setExpirationTime('15m')
      .sign(new TextEncoder().encode(TEST_JWT_SECRET));
    expect((await getUser(legacy)).statusCode).toBe(200);
    expect((await signOutEverywhere(user.token)).statusCode).toBe(204);
    expectRevoked(await getUser(legacy));
  });
});

describe('the cost of the check', () => {
  it('a signed-in request costs the same queries as before: the version comes with the viewer row', async () => {
    const user = await insertUser(t);
    expect((await getUser(user.token)).statusCode).toBe(200);
    // The sign-up emails of earlier tests are delivered in this process: let them finish first.
    await waitFor('background jobs to finish', async () => {
      const { waiting, active } = await t.deps.jobs.counts();
      return waiting + active === 0;
    });
    t.queries.reset();
    expect((await getUser(user.token)).statusCode).toBe(200);
    // The viewer lookup (which reads the token version with the row) and the user itself.
    expect(t.queries.count).toBe(2);
  });
});

describe.runIf(testDatabaseKind === 'postgres')('a second instance on the same database', () => {
  it('refuses a revoked token at once, though it verified and remembered that token before', async () => {
    const second = await createSecondInstance(t);
    try {
      const user = await register(t.app);
      const oauth = await oauthLogin(user);
      expect((await getUser(user.token, second.app)).statusCode).toBe(200);
      expect((await getUser(oauth.access_token, second.app)).statusCode).toBe(200);

      expect((await signOutEverywhere(user.token)).statusCode).toBe(204);
      expectRevoked(await getUser(user.token, second.app));
      expectRevoked(await getUser(oauth.access_token, second.app));
      expect((await refresh(oauth.refresh_token, second.app)).statusCode).toBe(400);

      // And the other way round, with a password change on the second instance.
      const signedIn = await t.app.inject({
        method: 'POST',
        url: '/api/users/login',
        payload: { user: { email: user.email, password: user.password } },
      });
      const token: string = signedIn.json().user.token;
      expect((await getUser(token)).statusCode).toBe(200);
      const changed = await second.app.inject({
        method: 'PUT',
        url: '/api/user',
        headers: auth(token),
        payload: { user: { password: 'changed elsewhere' } },
      });
      expect(changed.statusCode).toBe(200);
      expectRevoked(await getUser(token));
      expect((await getUser(changed.json().user.token)).statusCode).toBe(200);
    } finally {
      await second.close();
    }
  });
});
