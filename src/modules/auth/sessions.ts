import { eq, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { users } from '../../db/schema.js';
import { NotFoundError } from '../../errors.js';
import { revokeAllRefreshTokens } from './refresh-tokens.js';

/**
 * Revocation of every token of a user at once. Each access token carries the user's
 * `token_version` at issue and is accepted only while the row still holds exactly that value
 * (src/plugins/auth.ts compares it in the viewer lookup every request makes anyway, so every
 * instance sees a bump at its next request); refresh tokens rotate only while it matches.
 */

/**
 * The `set` value that moves a user to the next token version, inside an UPDATE of their row; the
 * same transaction marks their refresh tokens revoked (revokeAllRefreshTokens).
 */
export const nextTokenVersion = sql<number>`${users.tokenVersion} + 1`;

/** Sign-out-everywhere: every access and refresh token issued so far stops working. */
export async function signOutEverywhere(db: Database, userId: number): Promise<void> {
  await db.transaction(async (tx) => {
    const bumped = await tx
      .update(users)
      .set({ tokenVersion: nextTokenVersion })
      .where(eq(users.id, userId))
      .returning({ id: users.id });
    if (bumped.length === 0) throw new NotFoundError('User');
    await revokeAllRefreshTokens(tx, userId);
  });
}
