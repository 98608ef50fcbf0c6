import { and, eq, inArray, type Placeholder, sql } from 'drizzle-orm';
import type { Database, Transaction } from '../../db/client.js';
import { follows, users } from '../../db/schema.js';
import { NotFoundError, ValidationError } from '../../errors.js';

/** Anything that runs queries: the database or an open transaction. */
type Queryable = Database | Transaction;

/**
 * The viewer-independent part of a profile: what a cache may share between viewers. The
 * viewer-specific `following` flag is added by `followedAmong` + `presentProfile`.
 */
export interface ProfileView {
  id: number;
  username: string;
  bio: string | null;
  image: string | null;
}

export interface Profile {
  username: string;
  bio: string | null;
  image: string | null;
  following: boolean;
}

export const profileColumns = {
  id: users.id,
  username: users.username,
  bio: users.bio,
  image: users.image,
};

/** Usernames are unique case-insensitively (users_username_lower_key serves this lookup). */
export function usernameIs(username: string | Placeholder) {
  return sql`lower(${users.username}) = lower(${username})`;
}

export async function findProfile(db: Queryable, username: string): Promise<ProfileView> {
  const [profile] = await db.select(profileColumns).from(users).where(usernameIs(username));
  if (!profile) throw new NotFoundError('Profile');
  return profile;
}

/** Which of `userIds` the viewer follows: one indexed query (follows_pkey) whatever the count. */
export async function followedAmong(
  db: Queryable,
  viewerId: number | null,
  userIds: readonly number[],
): Promise<Set<number>> {
  const ids = [...new Set(userIds)];
  if (viewerId === null || ids.length === 0) return new Set();
  const rows = await db
    .select({ id: follows.followingId })
    .from(follows)
    .where(and(eq(follows.followerId, viewerId), inArray(follows.followingId, ids)));
  return new Set(rows.map((row) => row.id));
}

/** `defaultImage` (src/modules/profiles/avatar.ts) stands in for an unset image. */
export function presentProfile(view: ProfileView, following: boolean, defaultImage: string): Profile {
  return { username: view.username, bio: view.bio, image: view.image ?? defaultImage, following };
}

function refuseSelf(viewerId: number, target: ProfileView): void {
  if (target.id === viewerId) throw new ValidationError({ username: ['cannot follow yourself'] });
}

export interface FollowOptions {
  /**
   * Runs inside the follow transaction when a new follow row was written (not for a repeated
   * follow): the place for rows that must exist exactly when the follow does (the email's log row).
   */
  onFollowed?: (tx: Transaction, event: { followerId: number; followedId: number }) => Promise<void>;
}

/** Idempotent: following someone already followed changes nothing and still answers their profile. */
export async function followUser(
  db: Database,
  viewerId: number,
  username: string,
  options: FollowOptions = {},
): Promise<ProfileView> {
  return db.transaction(async (tx) => {
    const target = await findProfile(tx, username);
    refuseSelf(viewerId, target);
    const inserted = await tx
      .insert(follows)
      .values({ followerId: viewerId, followingId: target.id })
      .onConflictDoNothing()
      .returning({ followerId: follows.followerId });
    if (inserted.length > 0) await options.onFollowed?.(tx, { followerId: viewerId, followedId: target.id });
    return target;
  });
}

/** Idempotent: unfollowing someone not followed changes nothing. */
export async function unfollowUser(db: Database, viewerId: number, username: string): Promise<ProfileView> {
  return db.transaction(async (tx) => {
    const target = await findProfile(tx, username);
    refuseSelf(viewerId, target);
    await tx.delete(follows).where(and(eq(follows.followerId, viewerId), eq(follows.followingId, target.id)));
    return target;
  });
}
