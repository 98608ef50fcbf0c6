import { decodeJwt, SignJWT } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createAccessTokenSigner } from '../../../src/modules/auth/access-token.js';
import { TEST_JWT_SECRET } from '../../support/app.js';

const LIFETIMES = { accessTtlSeconds: 60, sessionTtlSeconds: 3600 };
const USER = { id: 7, tokenVersion: 3 };

/** The signer remembers verified tokens (src/modules/auth/access-token.ts): what must still hold. */
describe('access token verification, remembered per token', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('refuses a token it verified before once that token expires', async () => {
    const signer = createAccessTokenSigner(TEST_JWT_SECRET, LIFETIMES);
    const token = await signer.sign(USER);
    expect(await signer.verify(token)).toEqual({ userId: 7, tokenVersion: 3 });
    expect(await signer.verify(token)).toEqual({ userId: 7, tokenVersion: 3 });
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 60_000);
    await expect(signer.verify(token)).rejects.toThrow('The access token expired');
    await expect(signer.verify(token)).rejects.toThrow('The access token expired');
  });

  it('remembers the exact token only: the same claims under another signature are checked in full', async () => {
    const signer = createAccessTokenSigner(TEST_JWT_SECRET, LIFETIMES);
    const token = await signer.sign(USER);
    expect(await signer.verify(token)).toEqual({ userId: 7, tokenVersion: 3 });
    const [header, payload] = token.split('.');
    await expect(signer.verify(`${header}.${payload}.${'A'.repeat(43)}`)).rejects.toThrow(
      'The access token is invalid',
    );
    const other = createAccessTokenSigner(`${TEST_JWT_SECRET}-other`, LIFETIMES);
    await expect(other.verify(token)).rejects.toThrow('The access token is invalid');
  });
});

describe('access token claims', () => {
  const signer = createAccessTokenSigner(TEST_JWT_SECRET, LIFETIMES);
  const lifetime = (token: string) => {
    const { iat, exp } = decodeJwt(token);
    return (exp ?? 0) - (iat ?? 0);
  };

  it('an OAuth2 access token lives the access lifetime, a session token the session lifetime', async () => {
    expect(lifetime(await signer.sign(USER))).toBe(60);
    expect(lifetime(await signer.signSession(USER))).toBe(3600);
    expect(signer.ttlSeconds).toBe(60);
    expect(signer.sessionTtlSeconds).toBe(3600);
  });

  it('both carry the token version, which verification reports', async () => {
    expect(decodeJwt(await signer.sign(USER)).ver).toBe(3);
    expect(await signer.verify(await signer.signSession(USER))).toEqual({ userId: 7, tokenVersion: 3 });
  });

  const withClaims = (claims: Record<string, unknown>) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject('7')
      .setIssuer('conduit-api')
      .setAudience('conduit-api')
      .setExpirationTime('1m')
      .sign(new TextEncoder().encode(TEST_JWT_SECRET));

  it('reads a token without the claim (issued before versions) as version 0', async () => {
    expect(await signer.verify(await withClaims({}))).toEqual({ userId: 7, tokenVersion: 0 });
  });

  it.each([
    ['a string', '3'],
    ['a negative number', -1],
    ['a fraction', 1.5],
    ['null', null],
  ])('refuses a version that is %s', async (_, ver) => {
    await expect(signer.verify(await withClaims({ ver }))).rejects.toThrow('The access token is invalid');
  });
});
