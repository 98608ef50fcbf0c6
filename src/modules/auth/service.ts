import type { Database } from '../../db/client.js';
import type { AccessTokenSigner } from './access-token.js';
import { verifyCredentials } from './credentials.js';
import { issueRefreshToken, rotateRefreshToken } from './refresh-tokens.js';

export interface TokenSet {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

export interface TokenIssuer {
  db: Database;
  accessTokens: AccessTokenSigner;
  refreshTokenTtlSeconds: number;
}

/** Password grant: a new session (refresh token family), or null for bad credentials. */
export async function passwordGrant(
  issuer: TokenIssuer,
  login: string,
  password: string,
): Promise<TokenSet | null> {
  const user = await verifyCredentials(issuer.db, login, password);
  if (!user) return null;
  const refresh = await issueRefreshToken(issuer.db, user, issuer.refreshTokenTtlSeconds);
  return {
    accessToken: await issuer.accessTokens.sign(user),
    refreshToken: refresh.token,
    expiresIn: issuer.accessTokens.ttlSeconds,
  };
}

/** Refresh grant: rotates the token; throws InvalidRefreshTokenError when it is not usable. */
export async function refreshGrant(issuer: TokenIssuer, refreshToken: string): Promise<TokenSet> {
  const next = await rotateRefreshToken(issuer.db, refreshToken, issuer.refreshTokenTtlSeconds);
  return {
    accessToken: await issuer.accessTokens.sign({ id: next.userId, tokenVersion: next.tokenVersion }),
    refreshToken: next.token,
    expiresIn: issuer.accessTokens.ttlSeconds,
  };
}
