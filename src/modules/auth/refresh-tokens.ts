import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { and, eq, gt, isNull } from 'drizzle-orm';
import type { Database, Queryable } from '../../db/client.js';
import { refreshTokens, users } from '../../db/schema.js';

/**
 * OAuth2 refresh tokens: 256 random bits, handed out once, stored only as a SHA-256 hash (a
 * database leak yields nothing usable; a fast hash is enough for a value with this much entropy).
 * Each use rotates the token; a rotated token presented again means it leaked, so its whole
 * family is revoked (RFC 9700 §4.14.2).
 */

export class InvalidRefreshTokenError extends Error {
  override name = 'InvalidRefreshTokenError';
}

/** Bounds the request schemas put on a refresh token (the issued ones are 43 characters). */
export const REFRESH_TOKEN_MAX_LENGTH = 128;

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export interface IssuedRefreshToken {
  token: string;
  userId: number;
  /** The user's token version it was issued under: access tokens made alongside carry it too. */
  tokenVersion: number;
  familyId: string;
}

/** A new refresh token, in a new family (a new login) unless `familyId` continues one. */
export async function issueRefreshToken(
  db: Queryable,
  user: { id: number; tokenVersion: number },
  ttlSeconds: number,
  familyId: string = randomUUID(),
): Promise<IssuedRefreshToken> {
  const token = randomBytes(32).toString('base64url');
  await db.insert(refreshTokens).values({
    userId: user.id,
    tokenVersion: user.tokenVersion,
    familyId,
    tokenHash: hashToken(token),
    expiresAt: new Date(Date.now() + ttlSeconds * 1000),
  });
  return { token, userId: user.id, tokenVersion: user.tokenVersion, familyId };
}

/**
 * Exchanges a refresh token for its successor. The conditional UPDATE marks it rotated atomically,
 * so of two concurrent uses only one wins; the loser is treated as a reuse. It also requires the
 * user's token version to be the one the token was issued under: after a revocation (password
 * change, reset, sign-out-everywhere) no token of the user rotates, even one its UPDATE missed.
 */
export async function rotateRefreshToken(
  db: Database,
  token: string,
  ttlSeconds: number,
): Promise<IssuedRefreshToken> {
  const tokenHash = hashToken(token);
  const now = new Date();
  const rotated = await db.transaction(async (tx) => {
    const [current] = await tx
      .update(refreshTokens)
      .set({ rotatedAt: now })
      .from(users)
      .where(
        and(
          eq(refreshTokens.tokenHash, tokenHash),
          eq(users.id, refreshTokens.userId),
          eq(users.tokenVersion, refreshTokens.tokenVersion),
          isNull(refreshTokens.rotatedAt),
          isNull(refreshTokens.revokedAt),
          gt(refreshTokens.expiresAt, now),
        ),
      )
      .returning({ id: users.id, tokenVersion: users.tokenVersion, familyId: refreshTokens.familyId });
    if (!current) return undefined;
    return issueRefreshToken(tx, current, ttlSeconds, current.familyId);
  });
  if (rotated) return rotated;

  const [known] = await db
    .select({ familyId: refreshTokens.familyId, rotatedAt: refreshTokens.rotatedAt })
    .from(refreshTokens)
    .where(eq(refreshTokens.tokenHash, tokenHash));
  if (known?.rotatedAt) {
    // Reuse of a rotated token: whoever holds the family (the user or a thief) must log in again.
    await revokeFamily(db, known.familyId);
    throw new InvalidRefreshTokenError('The refresh token was already used; its session is revoked');
  }
  throw new InvalidRefreshTokenError('The refresh token is invalid, expired or revoked');
}

async function revokeFamily(db: Queryable, familyId: string): Promise<void> {
  await db
    .update(refreshTokens)
    .set({ revokedAt: new Date() })
    .where(and(eq(refreshTokens.familyId, familyId), isNull(refreshTokens.revokedAt)));
}

/** Logout (RFC 7009): revokes the token's whole family. Unknown tokens are silently ignored. */
export async function revokeRefreshToken(db: Database, token: string): Promise<void> {
  const [known] = await db
    .select({ familyId: refreshTokens.familyId })
    .from(refreshTokens)
    .where(eq(refreshTokens.tokenHash, hashToken(token)));
  if (known) await revokeFamily(db, known.familyId);
}

/**
 * Marks every refresh token of a user revoked. Part of a token version bump (auth/sessions.ts), which
 * alone already stops them rotating; the mark makes the end of each session visible in the table.
 */
export async function revokeAllRefreshTokens(db: Queryable, userId: number): Promise<void> {
  await db
    .update(refreshTokens)
    .set({ revokedAt: new Date() })
    .where(and(eq(refreshTokens.userId, userId), isNull(refreshTokens.revokedAt)));
}
