import { eq, sql } from 'drizzle-orm';
import type { Database, Queryable } from '../../db/client.js';
import { notificationPreferences, users } from '../../db/schema.js';
import type { NotificationKind, UnsubscribeTokens } from '../../email/unsubscribe.js';
import { BadRequestError, NotFoundError } from '../../errors.js';

/** One switch per notification kind, as the API shows them. */
export interface NotificationPreferences {
  newFollower: boolean;
  newComment: boolean;
  newArticle: boolean;
  weeklyDigest: boolean;
}

export type PreferenceName = keyof NotificationPreferences;

export const PREFERENCE_OF_KIND: Readonly<Record<NotificationKind, PreferenceName>> = {
  new_follower: 'newFollower',
  new_comment: 'newComment',
  new_article: 'newArticle',
  weekly_digest: 'weeklyDigest',
};

/** No row yet means every switch is on: rows are written on the first change only. */
export const DEFAULT_PREFERENCES: Readonly<NotificationPreferences> = Object.freeze({
  newFollower: true,
  newComment: true,
  newArticle: true,
  weeklyDigest: true,
});

const columns = {
  newFollower: notificationPreferences.newFollower,
  newComment: notificationPreferences.newComment,
  newArticle: notificationPreferences.newArticle,
  weeklyDigest: notificationPreferences.weeklyDigest,
};

export async function getPreferences(db: Queryable, userId: number): Promise<NotificationPreferences> {
  const [row] = await db
    .select(columns)
    .from(notificationPreferences)
    .where(eq(notificationPreferences.userId, userId));
  return row ?? { ...DEFAULT_PREFERENCES };
}

/** Changes only the switches given; the others keep their value. */
export async function updatePreferences(
  db: Queryable,
  userId: number,
  changes: Partial<NotificationPreferences>,
): Promise<NotificationPreferences> {
  const set = Object.fromEntries(
    Object.entries(changes).filter(([name, value]) => name in columns && typeof value === 'boolean'),
  ) as Partial<NotificationPreferences>;
  if (Object.keys(set).length === 0) return getPreferences(db, userId);
  const [row] = await db
    .insert(notificationPreferences)
    .values({ userId, ...set })
    .onConflictDoUpdate({ target: notificationPreferences.userId, set: { ...set, updatedAt: sql`now()` } })
    .returning(columns);
  if (!row) throw new Error('updatePreferences: no row');
  return row;
}

export interface UnsubscribeResult {
  kind: NotificationKind;
  preferences: NotificationPreferences;
}

/** Reads an unsubscribe token without changing anything (the confirmation page). */
export async function readUnsubscribeToken(
  db: Database,
  tokens: UnsubscribeTokens,
  token: string,
): Promise<{ userId: number; kind: NotificationKind }> {
  const target = tokens.verify(token);
  if (!target) throw new BadRequestError('This unsubscribe link is invalid');
  const [user] = await db.select({ id: users.id }).from(users).where(eq(users.id, target.userId));
  if (!user) throw new NotFoundError('Account');
  return target;
}

/** Turns off one kind for the token's user; repeating it is harmless (RFC 8058 clients may retry). */
export async function unsubscribe(
  db: Database,
  tokens: UnsubscribeTokens,
  token: string,
): Promise<UnsubscribeResult> {
  const { userId, kind } = await readUnsubscribeToken(db, tokens, token);
  const preferences = await updatePreferences(db, userId, { [PREFERENCE_OF_KIND[kind]]: false });
  return { kind, preferences };
}
