import { and, eq, isNull } from 'drizzle-orm';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refreshTokens, users } from '../../../src/db/schema.js';
import { createTestApp, type TestApp } from '../../support/app.js';
import { expectNoHash, type RegisteredUser, register } from '../users/helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ ACCESS_TOKEN_TTL: '2m', REFRESH_TOKEN_TTL: '1h' });
});
afterAll(() => t.close());

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

function postForm(url: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
  return t.app.inject({
    method: 'POST',
    url,
    headers: { ...FORM, ...headers },
    payload: new URLSearchParams(fields).toString(),
  });
}

const token = (fields: Record<string, string>, headers?: Record<string, string>) =>
  postForm('/api/auth/token', fields, headers);

async function login(user: RegisteredUser) {
  const res = await token({ grant_type: 'password', username: user.email, password: user.password });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { access_token: string; refresh_token: string; expires_in: number };
}

async function refresh(refreshToken: string) {
  return token({ grant_type: 'refresh_token', refresh_token: refreshToken });
}

function expectNoStore(res: { headers: Record<string, unknown> }) {
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers.pragma).toBe('no-cache');
}

function expectOAuthError(res: Awaited<ReturnType<typeof token>>, status: number, error: string) {
  expect(res.statusCode).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.json()).toEqual({ error, error_description: expect.any(String) });
  expectNoStore(res);
}

describe('POST /api/auth/token, grant_type=password', () => {
  it('answers an RFC 6749 token response, not cacheable, whose access token works as Bearer', async () => {
    const user = await register(t.app);
    const res = await token({ grant_type: 'password', username: user.email, password: user.password });
    expect(res.statusCode).toBe(200);
    expectNoStore(res);
    expect(res.json()).toEqual({
      access_token: expect.any(String),
      token_type: 'bearer',
      expires_in: 120,
      refresh_token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    });
    expectNoHash(res.body);
    const { iat, exp } = decodeJwt(res.json().access_token);
    expect((exp ?? 0) - (iat ?? 0)).toBe(120); // ACCESS_TOKEN_TTL=2m
    const me = await t.app.inject({
      method: 'GET',
      url: '/api/user',
      headers: { authorization: `Bearer ${res.json().access_token}` },
    });
    expect(me.json().user.username).toBe(user.username);
  });

  it('takes the username, in any case, instead of the email', async () => {
    const user = await register(t.app);
    const res = await token({
      grant_type: 'password',
      username: user.username.toUpperCase(),
      password: user.password,
    });
    expect(res.statusCode).toBe(200);
  });

  it('answers invalid_grant alike for a wrong password and an unknown account', async () => {
    const user = await register(t.app);
    const wrong = await token({ grant_type: 'password', username: user.email, password: 'wrong password' });
    const unknown = await token({ grant_type: 'password', username: 'ghost@example.com', password: 'x' });
    const unknownName = await token({ grant_type: 'password', username: 'ghost_user', password: 'x' });
    expectOAuthError(wrong, 400, 'invalid_grant');
    expect(unknown.body).toBe(wrong.body);
    expect(unknownName.body).toBe(wrong.body);
  });

  it('stores refresh tokens only as hashes', async () => {
    const user = await register(t.app);
    const { refresh_token } = await login(user);
    const rows = await t.deps.database.db.select({ hash: refreshTokens.tokenHash }).from(refreshTokens);
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(row.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(row.hash).not.toContain(refresh_token);
    }
  });
});

describe('POST /api/auth/token errors (RFC 6749 §5.2)', () => {
  it.each([
    ['no grant_type', {}, 'invalid_request'],
    ['an unknown grant_type', { grant_type: 'client_credentials' }, 'unsupported_grant_type'],
    ['a password grant without password', { grant_type: 'password', username: 'a@b.co' }, 'invalid_request'],
    ['a refresh grant without refresh_token', { grant_type: 'refresh_token' }, 'invalid_request'],
    [
      'a password over 256 characters',
      { grant_type: 'password', username: 'a@b.co', password: 'p'.repeat(257) },
      'invalid_request',
    ],
  ])('answers 400 for %s', async (_, fields, error) => {
    expectOAuthError(await token(fields), 400, error);
  });

  it('answers invalid_client (401) to a client secret: there are no confidential clients', async () => {
    const user = await register(t.app);
    const fields = { grant_type: 'password', username: user.email, password: user.password };
    const inBody = await token({ ...fields, client_id: 'app', client_secret: 'guess' });
    expectOAuthError(inBody, 401, 'invalid_client');
    expect(inBody.headers['www-authenticate']).toBe('Basic realm="conduit"');
    const basic = `Basic ${Buffer.from('app:guess').toString('base64')}`;
    expectOAuthError(await token(fields, { authorization: basic }), 401, 'invalid_client');
  });

  it("accepts what Swagger UI's Authorize sends: Basic with an empty client id and secret, and a scope", async () => {
    const user = await register(t.app);
    const res = await token(
      { grant_type: 'password', username: user.email, password: user.password, scope: '' },
      { authorization: `Basic ${Buffer.from(':').toString('base64')}` },
    );
    expect(res.statusCode).toBe(200);
  });

  it('accepts a JSON body too', async () => {
    const user = await register(t.app);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/token',
      payload: { grant_type: 'password', username: user.email, password: user.password },
    });
    expect(res.statusCode).toBe(200);
  });
});

describe('refresh tokens', () => {
  it('rotate on every use: each answer carries a new one, and the used one stops working', async () => {
    const user = await register(t.app);
    const first = await login(user);
    const second = await refresh(first.refresh_token);
    expect(second.statusCode).toBe(200);
    expectNoStore(second);
    expect(second.json().refresh_token).not.toBe(first.refresh_token);
    expect(decodeJwt(second.json().access_token).sub).toBe(decodeJwt(first.access_token).sub);
    const third = await refresh(second.json().refresh_token);
    expect(third.statusCode).toBe(200);
  });

  it('revoke the whole family when a rotated token is presented again', async () => {
    const user = await register(t.app);
    const first = await login(user);
    const second = (await refresh(first.refresh_token)).json();
    const reuse = await refresh(first.refresh_token);
    expectOAuthError(reuse, 400, 'invalid_grant');
    expect(reuse.json().error_description).toMatch(/already used/);
    // The legitimate-looking successor dies with it: whoever holds it must log in again.
    expectOAuthError(await refresh(second.refresh_token), 400, 'invalid_grant');
    // Other sessions of the same user are not touched.
    const other = await login(user);
    expect((await refresh(other.refresh_token)).statusCode).toBe(200);
  });

  it('let only one of two concurrent uses of the same token win', async () => {
    const user = await register(t.app);
    const first = await login(user);
    const results = await Promise.all([refresh(first.refresh_token), refresh(first.refresh_token)]);
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 400]);
    // The loser looks like a replay, so the winner's new token is revoked with its family too.
    const winner = results.find((r) => r.statusCode === 200)?.json().refresh_token;
    expectOAuthError(await refresh(winner), 400, 'invalid_grant');
  });

  it('expire after REFRESH_TOKEN_TTL', async () => {
    const user = await register(t.app);
    const { refresh_token } = await login(user);
    const [row] = await t.deps.database.db
      .select({
        userId: refreshTokens.userId,
        expiresAt: refreshTokens.expiresAt,
        createdAt: refreshTokens.createdAt,
      })
      .from(refreshTokens)
      .innerJoin(users, eq(users.id, refreshTokens.userId))
      .where(eq(users.email, user.email));
    const lifetime = (row?.expiresAt.getTime() ?? 0) - (row?.createdAt.getTime() ?? 0);
    expect(Math.abs(lifetime - 3600_000)).toBeLessThan(60_000); // REFRESH_TOKEN_TTL=1h
    // Age it instead of waiting.
    await t.deps.database.db
      .update(refreshTokens)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(refreshTokens.userId, row?.userId ?? 0));
    expectOAuthError(await refresh(refresh_token), 400, 'invalid_grant');
  });

  it('are unknown when made up', async () => {
    expectOAuthError(await refresh('x'.repeat(43)), 400, 'invalid_grant');
  });

  it('are all revoked when the user changes their password', async () => {
    const user = await register(t.app);
    const sessions = [await login(user), await login(user)];
    const put = await t.app.inject({
      method: 'PUT',
      url: '/api/user',
      headers: { authorization: `Token ${user.token}` },
      payload: { user: { password: 'another good password' } },
    });
    expect(put.statusCode).toBe(200);
    for (const session of sessions)
      expectOAuthError(await refresh(session.refresh_token), 400, 'invalid_grant');
    const fresh = await token({
      grant_type: 'password',
      username: user.email,
      password: 'another good password',
    });
    expect(fresh.statusCode).toBe(200);
  });

  it('stop working when the user is deleted', async () => {
    const user = await register(t.app);
    const { refresh_token } = await login(user);
    await t.deps.database.db.delete(users).where(eq(users.email, user.email));
    expectOAuthError(await refresh(refresh_token), 400, 'invalid_grant');
  });
});

describe('POST /api/auth/revoke (RFC 7009)', () => {
  it('logs out: the refresh token and its rotated successors stop working', async () => {
    const user = await register(t.app);
    const first = await login(user);
    const second = (await refresh(first.refresh_token)).json();
    const res = await postForm('/api/auth/revoke', { token: second.refresh_token });
    expect(res.statusCode).toBe(200);
    expectNoStore(res);
    expectOAuthError(await refresh(second.refresh_token), 400, 'invalid_grant');
    const live = await t.deps.database.db
      .select({ id: refreshTokens.id })
      .from(refreshTokens)
      .innerJoin(users, eq(users.id, refreshTokens.userId))
      .where(and(eq(users.email, user.email), isNull(refreshTokens.revokedAt)));
    expect(live).toEqual([]);
  });

  it('answers 200 for an unknown token and an access token', async () => {
    const user = await register(t.app);
    expect((await postForm('/api/auth/revoke', { token: 'never-issued' })).statusCode).toBe(200);
    const res = await postForm('/api/auth/revoke', { token: user.token, token_type_hint: 'access_token' });
    expect(res.statusCode).toBe(200);
  });

  it('answers invalid_request without a token', async () => {
    expectOAuthError(await postForm('/api/auth/revoke', {}), 400, 'invalid_request');
  });
});

describe('OpenAPI', () => {
  it('declares the OAuth2 password flow and the Token scheme, and uses them on protected routes', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(doc.components.securitySchemes.OAuth2.flows.password.tokenUrl).toBe('/api/auth/token');
    expect(doc.components.securitySchemes.Token).toMatchObject({ type: 'apiKey', in: 'header' });
    expect(doc.paths['/api/user'].get.security).toEqual([{ Token: [] }, { OAuth2: [] }]);
    expect(doc.paths['/api/user'].put.security).toEqual([{ Token: [] }, { OAuth2: [] }]);
    expect(Object.keys(doc.paths['/api/auth/token'].post.requestBody.content)).toContain(
      'application/x-www-form-urlencoded',
    );
  });
});
