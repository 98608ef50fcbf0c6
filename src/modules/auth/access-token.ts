import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';

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

export function createAccessTokenSigner(secret: string, ttlSeconds: number): AccessTokenSigner {
  const key = new TextEncoder().encode(secret);
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
      try {
        const { payload } = await jwtVerify(token, key, {
          algorithms: [ALGORITHM],
          issuer: ISSUER,
          audience: AUDIENCE,
          requiredClaims: ['sub', 'exp'],
        });
        const userId = Number(payload.sub);
        if (!Number.isSafeInteger(userId) || userId <= 0) throw new InvalidAccessTokenError('bad subject');
        return userId;
      } catch (error) {
        if (error instanceof joseErrors.JWTExpired)
          throw new InvalidAccessTokenError('The access token expired');
        throw new InvalidAccessTokenError('The access token is invalid');
      }
    },
  };
}
