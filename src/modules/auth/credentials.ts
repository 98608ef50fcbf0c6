import { eq, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { users } from '../../db/schema.js';
import { NotFoundError } from '../../errors.js';
import { hashPassword, passwordNeedsRehash, verifyPassword } from './passwords.js';
import { revokeAllRefreshTokens } from './refresh-tokens.js';
import { nextTokenVersion } from './sessions.js';

/**
 * What proves who a user is: the login (email or username) and the password hash of their row.
 * The users table is read through the schema: the users module builds on auth, never the reverse.
 */

/** RFC 5321 caps a forward path at 254 octets. */
export const EMAIL_MAX_LENGTH = 254;

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

// The unique indexes are on lower(email) and lower(username): lookups use the same expressions.
export const lowerEmail = sql`lower(${users.email})`;
export const lowerUsername = sql`lower(${users.username})`;

/** The account a login proved: enough to sign its tokens and to check its role. */
/** The account behind valid credentials, as a login answers it: never the password hash. */
export interface VerifiedUser {
  id: number;
  email: string;
  username: string;
  bio: string | null;
  image: string | null;
  role: 'user' | 'admin';
  emailVerifiedAt: Date | null;
  /** Signed into every token issued for the user (sessions.ts). */
  tokenVersion: number;
}

/**
 * The user whose credentials these are, or null. `login` is an email or a username (usernames
 * cannot contain `@`). Exactly one argon2 verification either way, so an unknown account and a
 * wrong password answer alike and in about the same time.
 */
export async function verifyCredentials(
  db: Database,
  login: string,
  password: string,
): Promise<VerifiedUser | null> {
  const key = normalizeEmail(login);
  const [row] = await db
    .select({
      id: users.id,
      email: users.email,
      username: users.username,
      bio: users.bio,
      image: users.image,
      role: users.role,
      emailVerifiedAt: users.emailVerifiedAt,
      tokenVersion: users.tokenVersion,
      passwordHash: users.passwordHash,
    })
    .from(users)
    .where(key.includes('@') ? eq(lowerEmail, key) : eq(lowerUsername, key))
    .limit(1);
  const valid = await verifyPassword(row?.passwordHash, password);
  if (!row || !valid) return null;
  const { passwordHash, ...user } = row;
  if (passwordNeedsRehash(passwordHash)) {
    // Parameters were raised since this hash was made: upgrade it while the password is at hand.
    await db
      .update(users)
      .set({ passwordHash: await hashPassword(password) })
      .where(eq(users.id, user.id));
  }
  return user;
}

/** Sets a new password and revokes every token issued to the user so far (for password reset). */
export async function setPassword(db: Database, userId: number, password: string): Promise<void> {
  const passwordHash = await hashPassword(password);
  await db.transaction(async (tx) => {
    const updated = await tx
      .update(users)
      .set({ passwordHash, tokenVersion: nextTokenVersion, updatedAt: new Date() })
      .where(eq(users.id, userId))
      .returning({ id: users.id });
    if (updated.length === 0) throw new NotFoundError('User');
    await revokeAllRefreshTokens(tx, userId);
  });
}
