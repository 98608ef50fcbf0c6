import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { LRUCache } from 'lru-cache';

/**
 * JWT access tokens: HS256 only. The verifier pins the algorithm, issuer and audience, so
 * `alg: none`, an RS/HS confusion or a token minted for another service is refused.
 */
const ALGORITHM = 'HS256';
const ISSUER = 'conduit-api';
const AUDIENCE = 'conduit-api';

export interface AccessTokenSigner {
  sign(userId: number): Promise<string>;
  /** The user id in a valid token; throws InvalidAccessTokenError otherwise. */
  verify(token: string): Promise<number>;
  readonly ttlSeconds: number;
}

export class InvalidAccessTokenError extends Error {
  override name = 'InvalidAccessTokenError';
}

/**
 * Tokens this process has verified, by their exact text (signature included), with what they say.
 * A client sends the same token on every request until it expires; verifying it again (WebCrypto
 * HMAC, a thread-pool round trip) was ~5 % of a signed-in request's CPU (docs/PERFORMANCE.md).
 * Expiry is still checked on every use. Only successes are kept: a forged token costs a full check.
 */
const VERIFIED_TOKENS_MAX = 10_000;

export function createAccessTokenSigner(secret: string, ttlSeconds: number): AccessTokenSigner {
  const key = new TextEncoder().encode(secret);
  const verified = new LRUCache<string, { userId: number; exp: number }>({ max: VERIFIED_TOKENS_MAX });
  const expired = () => new InvalidAccessTokenError('The access token expired');
  return {
    ttlSeconds,
    sign: (userId) =>
      new SignJWT({})
        .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
        .setSubject(String(userId))
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
        .sign(key),
    verify: async (token) => {
      const known = verified.get(token);
      if (known) {
        // jose's rule, with no clock tolerance: expired once `exp` is not in the future.
        if (known.exp > Math.floor(Date.now() / 1000)) return known.userId;
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
        verified.set(token, { userId, exp: payload.exp as number });
        return userId;
      } catch (error) {
        if (error instanceof joseErrors.JWTExpired) throw expired();
        throw new InvalidAccessTokenError('The access token is invalid');
      }
    },
  };
}
