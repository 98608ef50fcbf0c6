import { aliasedTable, and, asc, eq, gt, gte, lte, sql } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import type { Queryable } from '../../db/client.js';
import { articles, comments, emailLog, follows, notificationPreferences, users } from '../../db/schema.js';
import type { DigestArticle } from '../../email/templates/notifications.js';
import type { UnitOfWork } from '../../unit-of-work.js';

/**
 * The notification emails, one function per event. Each queues its emails in the caller's unit of
 * work (`uow.email(s)`: the email_log rows and their `email.send` jobs, sent after commit) and
 * returns the ids of the rows it wrote. Every one honours the recipient's preference switch and
 * is deduplicated by a key naming the event, so replaying an event (a retried job) queues nothing
 * new.
 */

/** A notification is on unless the user switched it off (no preferences row = all on). */
const enabled = (column: AnyPgColumn) => sql`coalesce(${column}, true)`;

const COMMENT_EXCERPT_LENGTH = 500;
/** Recipients per fan-out batch (one job each); NOTIFICATION_BATCH_SIZE in the jobs. */
export const FAN_OUT_BATCH = 500;
const DIGEST_SIZE = 5;

/** `followerId` started following `followedId`. Following, unfollowing and following again emails once. */
export async function queueNewFollowerEmail(
  uow: UnitOfWork,
  event: { followerId: number; followedId: number },
): Promise<number | null> {
  const follower = aliasedTable(users, 'follower');
  const [row] = await uow.tx
    .select({ email: users.email, followerUsername: follower.username })
    .from(users)
    .innerJoin(follower, eq(follower.id, event.followerId))
    .leftJoin(notificationPreferences, eq(notificationPreferences.userId, users.id))
    .where(and(eq(users.id, event.followedId), enabled(notificationPreferences.newFollower)));
  if (!row) return null;
  return uow.email({
    to: row.email,
    userId: event.followedId,
    template: 'new-follower',
    data: { followerUsername: row.followerUsername },
    dedupeKey: `follow:${event.followerId}:user:${event.followedId}`,
  });
}

/** A comment was posted: its article's author hears of it, unless they wrote it themselves. */
export async function queueNewCommentEmail(
  uow: UnitOfWork,
  event: { commentId: number },
): Promise<number | null> {
  const author = aliasedTable(users, 'article_author');
  const commenter = aliasedTable(users, 'commenter');
  const [row] = await uow.tx
    .select({
      authorId: author.id,
      email: author.email,
      commenterId: commenter.id,
      commenterUsername: commenter.username,
      body: comments.body,
      articleSlug: articles.slug,
      articleTitle: articles.title,
    })
    .from(comments)
    .innerJoin(articles, eq(articles.id, comments.articleId))
    .innerJoin(author, eq(author.id, articles.authorId))
    .innerJoin(commenter, eq(commenter.id, comments.authorId))
    .leftJoin(notificationPreferences, eq(notificationPreferences.userId, author.id))
    .where(and(eq(comments.id, sql.placeholder('commentId')), enabled(notificationPreferences.newComment)))
    // Named: it runs in every comment's transaction, and planning its joins costs PostgreSQL
    // far more than running them; a named statement is planned once per connection.
    .prepare('new_comment_email')
    .execute({ commentId: event.commentId });
  if (!row || row.authorId === row.commenterId) return null;
  const excerpt =
    row.body.length > COMMENT_EXCERPT_LENGTH ? `${row.body.slice(0, COMMENT_EXCERPT_LENGTH)}…` : row.body;
  return uow.email({
    to: row.email,
    userId: row.authorId,
    template: 'new-comment',
    data: {
      articleSlug: row.articleSlug,
      articleTitle: row.articleTitle,
      commenterUsername: row.commenterUsername,
      commentExcerpt: excerpt,
    },
    dedupeKey: `comment:${event.commentId}:user:${row.authorId}`,
  });
}

/** One batch of a fan-out: the emails it queued, and the cursor of the next batch (null: done). */
export interface FanOutBatch {
  /**
   * Rows this run wrote. A rerun after a crash writes only what is missing: the earlier run's rows
   * committed with their `email.send` jobs, which its flush or the outbox sweep enqueues.
   */
  emailIds: number[];
  /** The last recipient id of a full batch: the next batch starts after it. */
  next: number | null;
}

/**
 * Where the batches of an article's fan-out end: the id of every `size`-th follower of its author,
 * in id order (none when it has fewer than `size`, or the article is gone). Batch
 * `i` is then the followers in (boundary i−1, boundary i], and the last one those after the last
 * boundary. One statement, so the first fan-out job can hand every other batch to the queue at
 * once, instead of each batch enqueuing the next.
 */
export async function newArticleBatchBoundaries(
  db: Queryable,
  event: { articleId: number; size: number },
): Promise<number[]> {
  const ranked = db
    .select({
      id: follows.followerId,
      position: sql<number>`row_number() over (order by ${follows.followerId})`.as('position'),
    })
    .from(follows)
    .innerJoin(articles, eq(articles.authorId, follows.followingId))
    .where(eq(articles.id, event.articleId))
    .as('ranked');
  const rows = await db
    .select({ id: ranked.id })
    .from(ranked)
    .where(sql`${ranked.position} % ${event.size} = 0`)
    .orderBy(asc(ranked.id));
  return rows.map((row) => row.id);
}

/**
 * An article was published: followers of its author with the switch on, after user id `after`,
 * get an email — with `upTo`, those up to and including that id (a range fixed in advance by
 * newArticleBatchBoundaries: no limit, no next batch); without, at most `limit` of them (keyset
 * paging, and the cursor of the next batch). The body of one fan-out job; a rerun after a crash
 * inserts only what is missing and returns the batch's unsent rows again.
 */
export async function queueNewArticleEmailBatch(
  uow: UnitOfWork,
  event: { articleId: number; after: number; limit: number; upTo?: number },
): Promise<FanOutBatch> {
  const db = uow.tx;
  const [article] = await db
    .select({
      authorId: articles.authorId,
      slug: articles.slug,
      title: articles.title,
      description: articles.description,
      authorUsername: users.username,
    })
    .from(articles)
    .innerJoin(users, eq(users.id, articles.authorId))
    .where(eq(articles.id, event.articleId));
  if (!article) return { emailIds: [], next: null };
  const query = db
    .select({ id: users.id, email: users.email })
    .from(follows)
    .innerJoin(users, eq(users.id, follows.followerId))
    .leftJoin(notificationPreferences, eq(notificationPreferences.userId, users.id))
    .where(
      and(
        eq(follows.followingId, article.authorId),
        gt(users.id, event.after),
        event.upTo === undefined ? undefined : lte(users.id, event.upTo),
        enabled(notificationPreferences.newArticle),
      ),
    )
    .orderBy(asc(users.id));
  const followers = event.upTo === undefined ? await query.limit(event.limit) : await query;
  const inputs = followers.map((follower) => ({
    to: follower.email,
    userId: follower.id,
    template: 'new-article' as const,
    data: {
      articleSlug: article.slug,
      articleTitle: article.title,
      articleDescription: article.description,
      authorUsername: article.authorUsername,
    },
    dedupeKey: `article:${event.articleId}:user:${follower.id}`,
  }));
  return {
    emailIds: await uow.emails(inputs),
    next:
      event.upTo === undefined && followers.length === event.limit ? (followers.at(-1)?.id ?? null) : null,
  };
}

/**
 * Every batch of queueNewArticleEmailBatch in one call (tests, scripts); returns the ids of the
 * rows still to send. The job runs one batch per job instead.
 */
export async function queueNewArticleEmails(
  uow: UnitOfWork,
  event: { articleId: number },
): Promise<number[]> {
  const ids: number[] = [];
  let after: number | null = 0;
  while (after !== null) {
    const batch = await queueNewArticleEmailBatch(uow, { ...event, after, limit: FAN_OUT_BATCH });
    ids.push(...batch.emailIds);
    after = batch.next;
  }
  return ids;
}

/** Monday 00:00 UTC of the week before the one `now` falls in: the week a digest sent now covers. */
export function previousWeekStart(now: Date): Date {
  const day = (now.getUTCDay() + 6) % 7; // Monday = 0
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - day - 7));
}

/** `digest:<week>:user:` — the dedupe key prefix of one week's digests. */
export function digestWeekOf(weekStart: Date): string {
  return weekStart.toISOString().slice(0, 10);
}

/**
 * The weekly digest, one batch: for readers (user id after `after`, at most `limit`) with the
 * switch on, the most favorited articles published during the week starting `weekStart` by
 * people they follow. Readers with nothing to read get no email. One row per user and week
 * (`digest:<week>:user:<id>`), so the job is idempotent per week.
 */
export async function queueWeeklyDigestBatch(
  uow: UnitOfWork,
  event: { weekStart: Date; after: number; limit: number },
): Promise<FanOutBatch> {
  const start = event.weekStart;
  const end = new Date(start.getTime() + 7 * 86_400_000);
  const weekOf = digestWeekOf(start);
  // The top articles per reader in one statement (a correlated subquery per user row).
  const topArticles = sql<DigestArticle[]>`(
    select coalesce(json_agg(top), '[]'::json) from (
      select a.slug, a.title, au.username as "authorUsername", a.favorites_count as "favoritesCount"
      from ${follows} f
      join ${articles} a on a.author_id = f.following_id
      join ${users} au on au.id = a.author_id
      where f.follower_id = ${users.id}
        -- Published in that week: a scheduled article (published_at null) is nobody's news yet.
        and a.published_at >= ${start.toISOString()}::timestamptz and a.published_at < ${end.toISOString()}::timestamptz
      order by a.favorites_count desc, a.published_at desc, a.id desc
      limit ${DIGEST_SIZE}
    ) top
  )`;
  const readers = await uow.tx
    .select({ id: users.id, email: users.email, articles: topArticles })
    .from(users)
    .leftJoin(notificationPreferences, eq(notificationPreferences.userId, users.id))
    .where(and(gt(users.id, event.after), enabled(notificationPreferences.weeklyDigest)))
    .orderBy(asc(users.id))
    .limit(event.limit);
  const inputs = readers
    .filter((reader) => reader.articles.length > 0)
    .map((reader) => ({
      to: reader.email,
      userId: reader.id,
      template: 'weekly-digest' as const,
      data: { weekOf, articles: reader.articles },
      dedupeKey: `digest:${weekOf}:user:${reader.id}`,
    }));
  return {
    emailIds: await uow.emails(inputs),
    next: readers.length === event.limit ? (readers.at(-1)?.id ?? null) : null,
  };
}

/** Every batch of queueWeeklyDigestBatch in one call (tests, scripts). */
export async function queueWeeklyDigestEmails(
  uow: UnitOfWork,
  event: { weekStart: Date },
): Promise<number[]> {
  const ids: number[] = [];
  let after: number | null = 0;
  while (after !== null) {
    const batch = await queueWeeklyDigestBatch(uow, { ...event, after, limit: FAN_OUT_BATCH });
    ids.push(...batch.emailIds);
    after = batch.next;
  }
  return ids;
}

/**
 * Whether some digest of that week exists already: the week's run started (or finished). Such
 * rows are created after the week ended, which bounds the scan by creation time.
 */
export async function digestWeekStarted(db: Queryable, weekStart: Date): Promise<boolean> {
  const weekEnd = new Date(weekStart.getTime() + 7 * 86_400_000);
  const [row] = await db
    .select({ id: emailLog.id })
    .from(emailLog)
    .where(
      and(
        gte(emailLog.createdAt, weekEnd),
        eq(emailLog.template, 'weekly-digest'),
        sql`${emailLog.payload}->>'weekOf' = ${digestWeekOf(weekStart)}`,
      ),
    )
    .limit(1);
  return row !== undefined;
}
