import { createHash, randomBytes } from 'node:crypto';
import { and, desc, eq, gt, isNull, sql } from 'drizzle-orm';
import type { Database, Queryable, Transaction } from '../../db/client.js';
import { emailTokens, users } from '../../db/schema.js';
import { BadRequestError, ConflictError, TooManyRequestsError } from '../../errors.js';
import type { UnitOfWork } from '../../unit-of-work.js';
import { lowerEmail, normalizeEmail, setPassword } from './credentials.js';

/**
 * Address verification and password reset: one-time tokens (hashed at rest, single use,
 * expiring) sent by email. The verification email of a registration or an email change is queued
 * here too (queueVerificationEmail), in the users module's transaction.
 */

export const VERIFY_TOKEN_TTL_SECONDS = 48 * 3600;
export const RESET_TOKEN_TTL_SECONDS = 30 * 60;
/** A resend (or a second reset request) within this window is refused: no inbox flooding. */
export const RESEND_INTERVAL_SECONDS = 60;
export const EMAIL_TOKEN_MAX_LENGTH = 128;

type Purpose = (typeof emailTokens.purpose.enumValues)[number];

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

interface TokenOwner {
  id: number;
  email: string;
  username: string;
}

/** Issues a token and spends the user's older ones of the same purpose: only the newest link works. */
async function issueToken(
  tx: Queryable,
  owner: TokenOwner,
  purpose: Purpose,
  ttlSeconds: number,
): Promise<{ id: number; token: string }> {
  await tx
    .update(emailTokens)
    .set({ usedAt: sql`now()` })
    .where(
      and(eq(emailTokens.userId, owner.id), eq(emailTokens.purpose, purpose), isNull(emailTokens.usedAt)),
    );
  const token = randomBytes(32).toString('base64url');
  const [row] = await tx
    .insert(emailTokens)
    .values({
      userId: owner.id,
      purpose,
      tokenHash: hashToken(token),
      email: owner.email,
      expiresAt: sql`now() + make_interval(secs => ${ttlSeconds})`,
    })
    .returning({ id: emailTokens.id });
  if (!row) throw new Error('issueToken: no row');
  return { id: row.id, token };
}

/**
 * Queues the verification email in the caller's unit of work (registration, email change, resend).
 * Returns the email_log id.
 */
export async function queueVerificationEmail(uow: UnitOfWork, user: TokenOwner): Promise<number> {
  const { id, token } = await issueToken(uow.tx, user, 'verify_email', VERIFY_TOKEN_TTL_SECONDS);
  const emailId = await uow.email({
    to: user.email,
    userId: user.id,
    template: 'verify-email',
    data: { username: user.username, token },
    dedupeKey: `verify-email:token:${id}`,
  });
  if (emailId === null) throw new Error('queueVerificationEmail: deduplicated a fresh token');
  return emailId;
}

async function assertNotTooSoon(tx: Transaction, userId: number, purpose: Purpose): Promise<void> {
  const [recent] = await tx
    .select({
      wait: sql<number>`ceil(extract(epoch from ${emailTokens.createdAt} + make_interval(secs => ${RESEND_INTERVAL_SECONDS}) - now()))::int`,
    })
    .from(emailTokens)
    .where(
      and(
        eq(emailTokens.userId, userId),
        eq(emailTokens.purpose, purpose),
        gt(emailTokens.createdAt, sql`now() - make_interval(secs => ${RESEND_INTERVAL_SECONDS})`),
      ),
    )
    .orderBy(desc(emailTokens.createdAt))
    .limit(1);
  if (recent) throw new TooManyRequestsError(recent.wait);
}

/** `POST /api/auth/verify-email/resend`: a fresh link for a signed-in, not yet verified user. */
export async function resendVerificationEmail(uow: UnitOfWork, userId: number): Promise<number> {
  const { tx } = uow;
  // Row lock: two resends at once cannot both pass the interval check.
  const [user] = await tx
    .select({
      id: users.id,
      email: users.email,
      username: users.username,
      verifiedAt: users.emailVerifiedAt,
    })
    .from(users)
    .where(eq(users.id, userId))
    .for('update');
  if (!user) throw new BadRequestError('Unknown account');
  if (user.verifiedAt) throw new ConflictError('Your email address is already verified');
  await assertNotTooSoon(tx, userId, 'verify_email');
  return queueVerificationEmail(uow, user);
}

/** The row of `token` for `purpose` while it is genuine, unused and unexpired. */
function usable(token: string, purpose: Purpose) {
  return and(
    eq(emailTokens.tokenHash, hashToken(token)),
    eq(emailTokens.purpose, purpose),
    isNull(emailTokens.usedAt),
    gt(emailTokens.expiresAt, sql`now()`),
  );
}

/** Spends a token if it is genuine, unused and unexpired; null otherwise. */
async function spendToken(
  tx: Queryable,
  token: string,
  purpose: Purpose,
): Promise<{ userId: number; email: string } | null> {
  if (token.length === 0 || token.length > EMAIL_TOKEN_MAX_LENGTH) return null;
  const [row] = await tx
    .update(emailTokens)
    .set({ usedAt: sql`now()` })
    .where(usable(token, purpose))
    .returning({ userId: emailTokens.userId, email: emailTokens.email });
  return row ?? null;
}

/** Whether the token would be accepted now, without spending it (the reset form page). */
export async function isTokenUsable(db: Database, token: string, purpose: Purpose): Promise<boolean> {
  if (token.length === 0 || token.length > EMAIL_TOKEN_MAX_LENGTH) return false;
  const [row] = await db.select({ id: emailTokens.id }).from(emailTokens).where(usable(token, purpose));
  return row !== undefined;
}

/** Marks the current address verified (idempotent: the first verification time is kept). */
export async function markEmailVerified(db: Queryable, userId: number): Promise<void> {
  await db
    .update(users)
    .set({ emailVerifiedAt: sql`coalesce(${users.emailVerifiedAt}, now())`, updatedAt: new Date() })
    .where(eq(users.id, userId));
}

const INVALID_VERIFY_LINK = 'This verification link is invalid, was already used or has expired';
const INVALID_RESET_LINK = 'This password reset link is invalid, was already used or has expired';

/**
 * Verifies the address the token was sent to. A token for an address the account no longer
 * has proves nothing and is refused.
 */
export async function verifyEmail(db: Database, token: string): Promise<{ userId: number }> {
  return db.transaction(async (tx) => {
    const spent = await spendToken(tx, token, 'verify_email');
    if (!spent) throw new BadRequestError(INVALID_VERIFY_LINK);
    const [user] = await tx.select({ email: users.email }).from(users).where(eq(users.id, spent.userId));
    if (!user || normalizeEmail(user.email) !== normalizeEmail(spent.email)) {
      throw new BadRequestError(INVALID_VERIFY_LINK);
    }
    await markEmailVerified(tx, spent.userId);
    return { userId: spent.userId };
  });
}

/**
 * `POST /api/auth/forgot-password`: queues a reset email when the address belongs to an account,
 * and does nothing otherwise. The caller answers the same either way; the send happens later,
 * so the response time does not tell either.
 */
export async function requestPasswordReset(uow: UnitOfWork, email: string): Promise<number | null> {
  const { tx } = uow;
  const [user] = await tx
    .select({ id: users.id, email: users.email, username: users.username })
    .from(users)
    .where(eq(lowerEmail, normalizeEmail(email)))
    .for('update');
  if (!user) return null;
  const [recent] = await tx
    .select({ id: emailTokens.id })
    .from(emailTokens)
    .where(
      and(
        eq(emailTokens.userId, user.id),
        eq(emailTokens.purpose, 'reset_password'),
        gt(emailTokens.createdAt, sql`now() - make_interval(secs => ${RESEND_INTERVAL_SECONDS})`),
      ),
    );
  // Silently: a 429 here would tell an attacker the address has an account.
  if (recent) return null;
  const { id, token } = await issueToken(tx, user, 'reset_password', RESET_TOKEN_TTL_SECONDS);
  return uow.email({
    to: user.email,
    userId: user.id,
    template: 'reset-password',
    data: { username: user.username, token, expiresInMinutes: RESET_TOKEN_TTL_SECONDS / 60 },
    dedupeKey: `reset-password:token:${id}`,
  });
}

/**
 * Sets a new password with a reset token (single use) and revokes every refresh token of the
 * account (setPassword does). Having received the email also proves the address.
 */
export async function resetPassword(db: Database, token: string, password: string): Promise<void> {
  const spent = await db.transaction((tx) => spendToken(tx, token, 'reset_password'));
  if (!spent) throw new BadRequestError(INVALID_RESET_LINK);
  await setPassword(db, spent.userId, password);
  const [user] = await db.select({ email: users.email }).from(users).where(eq(users.id, spent.userId));
  if (user && normalizeEmail(user.email) === normalizeEmail(spent.email)) {
    await markEmailVerified(db, spent.userId);
  }
}
