import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { LRUCache } from 'lru-cache';

/**
 * JWT access tokens: HS256 only. The verifier pins the algorithm, issuer and audience, so
 * `alg: none`, an RS/HS confusion or a token minted for another service is refused.
 */
const ALGORITHM = 'HS256';
const ISSUER = 'conduit-api';
const AUDIENCE = 'conduit-api';
/** The claim with the user's token version at issue (`users.token_version`). */
const VERSION_CLAIM = 'ver';

/** Whom a token is for: the user and their current token version. */
export interface TokenSubject {
  id: number;
  tokenVersion: number;
}

/** What a valid token says. The version is compared with the user's row on every request. */
export interface VerifiedAccessToken {
  userId: number;
  tokenVersion: number;
}

export interface AccessTokenSigner {
  /** An OAuth2 access token: lives `ttlSeconds` (ACCESS_TOKEN_TTL); its client refreshes it. */
  sign(subject: TokenSubject): Promise<string>;
  /** The RealWorld `user.token`: lives `sessionTtlSeconds` (SESSION_TOKEN_TTL); stock clients never refresh. */
  signSession(subject: TokenSubject): Promise<string>;
  /** What a valid token says; throws InvalidAccessTokenError otherwise. */
  verify(token: string): Promise<VerifiedAccessToken>;
  readonly ttlSeconds: number;
  readonly sessionTtlSeconds: number;
}

export interface AccessTokenLifetimes {
  accessTtlSeconds: number;
  sessionTtlSeconds: number;
}

export class InvalidAccessTokenError extends Error {
  override name = 'InvalidAccessTokenError';
}

/**
 * Tokens this process has verified, by their exact text (signature included), with what they say.
 * A client sends the same token on every request until it expires, and verifying it (WebCrypto
 * HMAC) is a thread-pool round trip each time; this keeps that off the signed-in request path.
 * Expiry is still checked on every use, and revocation is not decided here: the version a token
 * carries is compared with the user's row, read on every request. Only successes are kept: a
 * forged token costs a full check.
 */
const VERIFIED_TOKENS_MAX = 10_000;

/**
 * Tokens issued before versions existed have no `ver` claim: they count as version 0, the version
 * every user starts at, so a deploy signs nobody out, and the first revocation (version 1) ends them.
 */
function versionOf(payload: Record<string, unknown>): number {
  const version = payload[VERSION_CLAIM];
  if (version === undefined) return 0;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0)
    throw new InvalidAccessTokenError('bad version');
  return version;
}

export function createAccessTokenSigner(
  secret: string,
  { accessTtlSeconds, sessionTtlSeconds }: AccessTokenLifetimes,
): AccessTokenSigner {
  const key = new TextEncoder().encode(secret);
  const verified = new LRUCache<string, VerifiedAccessToken & { exp: number }>({ max: VERIFIED_TOKENS_MAX });
  const expired = () => new InvalidAccessTokenError('The access token expired');
  const signFor = (subject: TokenSubject, ttlSeconds: number) =>
    new SignJWT({ [VERSION_CLAIM]: subject.tokenVersion })
      .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
      .setSubject(String(subject.id))
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
      .sign(key);
  return {
    ttlSeconds: accessTtlSeconds,
    sessionTtlSeconds,
    sign: (subject) => signFor(subject, accessTtlSeconds),
    signSession: (subject) => signFor(subject, sessionTtlSeconds),
    verify: async (token) => {
      const known = verified.get(token);
      if (known) {
        // jose's rule, with no clock tolerance: expired once `exp` is not in the future.
        if (known.exp > Math.floor(Date.now() / 1000))
          return { userId: known.userId, tokenVersion: known.tokenVersion };
        verified.delete(token);
        throw expired();
      }
      try {
        const { payload } = await jwtVerify(token, key, {
          algorithms: [ALGORITHM],
          issuer: ISSUER,
          audience: AUDIENCE,
          requiredClaims: ['sub', 'exp'],
        });
        const userId = Number(payload.sub);
        if (!Number.isSafeInteger(userId) || userId <= 0) throw new InvalidAccessTokenError('bad subject');
        const tokenVersion = versionOf(payload);
        verified.set(token, { userId, tokenVersion, exp: payload.exp as number });
        return { userId, tokenVersion };
      } catch (error) {
        if (error instanceof joseErrors.JWTExpired) throw expired();
        throw new InvalidAccessTokenError('The access token is invalid');
      }
    },
  };
}
