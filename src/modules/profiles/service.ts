import { and, eq, inArray, type Placeholder, sql } from 'drizzle-orm';
import { cacheWrites } from '../../cache/namespaces.js';
import type { Queryable } from '../../db/client.js';
import { follows, users } from '../../db/schema.js';
import { NotFoundError, ValidationError } from '../../errors.js';
import type { UnitOfWork } from '../../unit-of-work.js';
import { queueNewFollowerEmail } from '../notifications/emails.js';

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

/**
 * Idempotent: following someone already followed changes nothing and still answers their profile.
 * Only a new follow row emails the followed user, and once per (follower, followed) ever: no
 * re-follow spam (the email's dedupe key).
 */
export async function followUser(uow: UnitOfWork, viewerId: number, username: string): Promise<ProfileView> {
  const { tx } = uow;
  const target = await findProfile(tx, username);
  refuseSelf(viewerId, target);
  const inserted = await tx
    .insert(follows)
    .values({ followerId: viewerId, followingId: target.id })
    .onConflictDoNothing()
    .returning({ followerId: follows.followerId });
  if (inserted.length > 0) await queueNewFollowerEmail(uow, { followerId: viewerId, followedId: target.id });
  uow.invalidate(cacheWrites.followChanged(target.username, viewerId));
  return target;
}

/** Idempotent: unfollowing someone not followed changes nothing. */
export async function unfollowUser(
  uow: UnitOfWork,
  viewerId: number,
  username: string,
): Promise<ProfileView> {
  const { tx } = uow;
  const target = await findProfile(tx, username);
  refuseSelf(viewerId, target);
  await tx.delete(follows).where(and(eq(follows.followerId, viewerId), eq(follows.followingId, target.id)));
  uow.invalidate(cacheWrites.followChanged(target.username, viewerId));
  return target;
}
