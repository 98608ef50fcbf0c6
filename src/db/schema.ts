import { sql } from 'drizzle-orm';
import {
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  pgView,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

/**
 * The whole data model. `npm run db:generate` diffs this file against the committed
 * migrations; a test fails when they drift apart.
 *
 * One file on purpose: it mirrors `migrations/` (one schema, one history), reads top to bottom
 * like the database it describes, and the tables reference each other (foreign keys) across
 * modules. Queries are SQL-like Drizzle (`db.select()…`), never relational `db.query.*`, so the
 * file declares tables, enums and indexes only, no `relations()`.
 */

const createdAt = () => timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow();
const updatedAt = () => timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow();

export const userRole = pgEnum('user_role', ['user', 'admin']);

export const users = pgTable(
  'users',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    // Stored trimmed and lower-cased by the users service; the index also guards against case twins.
    email: text('email').notNull(),
    username: text('username').notNull(),
    passwordHash: text('password_hash').notNull(),
    bio: text('bio'),
    image: text('image'),
    role: userRole('role').notNull().default('user'),
    emailVerifiedAt: timestamp('email_verified_at', { withTimezone: true, mode: 'date' }),
    // Every access token carries the value it was issued under; a password change, a reset or
    // sign-out-everywhere increments it, so every earlier token stops matching at once.
    tokenVersion: integer('token_version').notNull().default(0),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('users_email_lower_key').on(sql`lower(${t.email})`),
    uniqueIndex('users_username_lower_key').on(sql`lower(${t.username})`),
  ],
);

/**
 * OAuth2 refresh tokens (opaque; only a SHA-256 hash is stored). Every use rotates the token
 * within its family; presenting a rotated token again revokes the whole family (RFC 9700 §4.14.2).
 */
export const refreshTokens = pgTable(
  'refresh_tokens',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    familyId: uuid('family_id').notNull(),
    tokenHash: text('token_hash').notNull().unique('refresh_tokens_token_hash_key'),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
    rotatedAt: timestamp('rotated_at', { withTimezone: true, mode: 'date' }),
    revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
    // The user's token_version at issue: a rotation only succeeds while it still matches, so a token
    // written by a rotation that raced a revocation cannot outlive it.
    tokenVersion: integer('token_version').notNull().default(0),
    createdAt: createdAt(),
  },
  (t) => [
    index('refresh_tokens_user_id_idx').on(t.userId),
    index('refresh_tokens_family_id_idx').on(t.familyId),
  ],
);

export const follows = pgTable(
  'follows',
  {
    followerId: integer('follower_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    followingId: integer('following_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ name: 'follows_pkey', columns: [t.followerId, t.followingId] }),
    // "Who follows X" (notification fan-out, follower counts).
    index('follows_following_id_idx').on(t.followingId),
    check('follows_not_self', sql`${t.followerId} <> ${t.followingId}`),
  ],
);

export const articles = pgTable(
  'articles',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    slug: text('slug').notNull().unique('articles_slug_key'),
    title: text('title').notNull(),
    description: text('description').notNull(),
    body: text('body').notNull(),
    authorId: integer('author_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    // Kept in the same transaction as the favorites row, so lists need no COUNT(*) per article.
    favoritesCount: integer('favorites_count').notNull().default(0),
    // The article's tag names as the API answers them (`ORDER BY tags.name`), so a list reads one
    // column instead of running a subquery over article_tags and tags per row (half of the list
    // query's time). Never written by the app: triggers on article_tags (and tag renames) keep it
    // in the transaction of every change (migrations/0004_article_tag_list_triggers.sql).
    tagList: text('tag_list').array().notNull().default(sql`'{}'::text[]`),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    // Scheduled publishing (articles module). `published_at` null = scheduled, visible to its
    // author only; lists order by it, so an article goes live as the newest. The default makes
    // every plain insert published at once; only a create with a future `publishAt` writes null.
    publishedAt: timestamp('published_at', { withTimezone: true, mode: 'date' }).defaultNow(),
    // The time the author asked for (null = published on creation); the publish job and the due
    // sweep publish a row once it has passed.
    publishAt: timestamp('publish_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    // Global list, newest published first (id breaks ties). Ascending on purpose: a backward scan
    // serves `ORDER BY published_at DESC, id DESC` exactly (NULLS FIRST, excluded by the WHERE).
    // `author_id` and `tag_list` ride along (key columns after the unique prefix, so they never
    // change the order) so that a page's ids are chosen from the index alone, without reading an
    // article: the feed's and `?tag=`'s filters are checked on the entry, and a rare tag or a deep
    // page skips thousands of entries instead of thousands of rows. `tag_list` is at most 10 tags
    // of 40 characters (schemas.ts LIMITS), well under a btree entry's 2.7 KB.
    index('articles_published_at_idx').on(t.publishedAt, t.id, t.authorId, t.tagList),
    // `?author=` filter and the feed (author IN followed authors, newest first).
    index('articles_author_published_at_idx').on(t.authorId, t.publishedAt, t.id),
    // The due sweep: scheduled rows only (a handful), by requested time.
    index('articles_scheduled_publish_at_idx').on(t.publishAt).where(sql`${t.publishedAt} is null`),
    // `?tag=` (`tag_list @> array[tag]`). Besides the index, the column's element statistics tell
    // the planner how common a tag is: a popular one walks articles_published_at_idx and filters
    // (20 rows come quickly), a rare one takes its few rows from here and sorts them. Through the
    // article_tags semi-join the planner could not tell them apart, and a rare tag read the whole
    // table backwards (docs/QUERIES.md).
    index('articles_tag_list_idx').using('gin', t.tagList),
    check('articles_favorites_count_nonnegative', sql`${t.favoritesCount} >= 0`),
  ],
);

export const tags = pgTable(
  'tags',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    name: text('name').notNull().unique('tags_name_key'),
    // Frozen since migration 0009 (the counts moved to `article_count_shards`); kept one release
    // so that an instance still on the code before it reads a stale count rather than failing.
    articlesCount: integer('articles_count').notNull().default(0),
  },
  (t) => [check('tags_articles_count_nonnegative', sql`${t.articlesCount} >= 0`)],
);

/** Frozen since migration 0009, kept one release like `tags.articles_count`. */
export const articleCounts = pgTable(
  'article_counts',
  {
    id: integer('id').primaryKey().default(1),
    published: integer('published').notNull().default(0),
  },
  (t) => [
    check('article_counts_single_row', sql`${t.id} = 1`),
    check('article_counts_published_nonnegative', sql`${t.published} >= 0`),
  ],
);

/**
 * The counters behind articlesCount of the unfiltered list (`tag_id` 0) and of `?tag=` (a tag's
 * id): published articles, kept by triggers in the transaction of every change
 * (migrations/0002_…, 0009_…). Each counter is split into shards so that concurrent writers never
 * update the same row: a transaction adds to the shard of its database backend
 * (`shard` = pg_backend_pid(), which runs one transaction at a time), and the
 * `articles.compact-counts` job folds idle shards into shard 0. A counter is the sum of its
 * shards: read it through `articleCountTotals`. A single shard may be negative.
 */
export const articleCountShards = pgTable(
  'article_count_shards',
  {
    tagId: integer('tag_id').notNull(),
    shard: integer('shard').notNull(),
    published: integer('published').notNull(),
  },
  (t) => [primaryKey({ name: 'article_count_shards_pkey', columns: [t.tagId, t.shard] })],
);

/** Each counter of `article_count_shards` summed (migrations/0009_…); a filter on tag_id reads only its shards. */
export const articleCountTotals = pgView('article_count_totals', {
  tagId: integer('tag_id').notNull(),
  published: integer('published').notNull(),
}).existing();

/**
 * The feed's articlesCount: each author's published articles, kept by triggers in the transaction
 * of every change (migrations/0012_…), so the feed's total is a sum over the followed authors' rows
 * instead of a count of their articles. No row: none published. One row per author, so only that
 * author's own article writes move it: writers of different authors never wait for each other,
 * an author's own concurrent writes queue on their row until commit.
 */
export const authorArticleCounts = pgTable(
  'author_article_counts',
  {
    authorId: integer('author_id')
      .primaryKey()
      .references(() => users.id, { onDelete: 'cascade' }),
    published: integer('published').notNull(),
  },
  (t) => [check('author_article_counts_published_nonnegative', sql`${t.published} >= 0`)],
);

export const articleTags = pgTable(
  'article_tags',
  {
    articleId: integer('article_id')
      .notNull()
      .references(() => articles.id, { onDelete: 'cascade' }),
    tagId: integer('tag_id')
      .notNull()
      .references(() => tags.id, { onDelete: 'cascade' }),
  },
  (t) => [
    primaryKey({ name: 'article_tags_pkey', columns: [t.articleId, t.tagId] }),
    // `?tag=` filter and tag popularity.
    index('article_tags_tag_id_idx').on(t.tagId, t.articleId),
  ],
);

export const favorites = pgTable(
  'favorites',
  {
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    articleId: integer('article_id')
      .notNull()
      .references(() => articles.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ name: 'favorites_pkey', columns: [t.userId, t.articleId] }),
    index('favorites_article_id_idx').on(t.articleId),
  ],
);

export const comments = pgTable(
  'comments',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    body: text('body').notNull(),
    articleId: integer('article_id')
      .notNull()
      .references(() => articles.id, { onDelete: 'cascade' }),
    authorId: integer('author_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('comments_article_id_created_at_idx').on(t.articleId, t.createdAt),
    index('comments_author_id_idx').on(t.authorId),
  ],
);

// ─── email / notifications module (src/email, src/modules/notifications) ───────────────────────

export const emailStatus = pgEnum('email_status', ['queued', 'sending', 'sent', 'failed']);

/**
 * One row per email, written in the same transaction as the change that caused it; the send job
 * then moves it `queued → sending → sent | failed`. `payload` holds the template data (ids and the
 * display values needed to re-render, never a secret); one-time tokens travel sealed (AES-GCM) in
 * `sealed_secrets`, so a database dump reveals no usable link.
 */
export const emailLog = pgTable(
  'email_log',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    userId: integer('user_id').references(() => users.id, { onDelete: 'set null' }),
    recipient: text('recipient').notNull(),
    template: text('template').notNull(),
    subject: text('subject').notNull(),
    status: emailStatus('status').notNull().default('queued'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    providerMessageId: text('provider_message_id'),
    // e.g. `comment:123:user:45`: the same event never emails the same person twice.
    dedupeKey: text('dedupe_key').notNull().unique('email_log_dedupe_key_key'),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    sealedSecrets: text('sealed_secrets'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    sentAt: timestamp('sent_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    // Admin log, newest first; the same backward-scan trick as articles_created_at_idx.
    index('email_log_created_at_idx').on(t.createdAt, t.id),
    index('email_log_recipient_idx').on(t.recipient),
    // ON DELETE SET NULL from users scans by user_id.
    index('email_log_user_id_idx').on(t.userId),
    // The sweep that re-enqueues emails whose job was lost looks for old `queued`/`sending` rows.
    index('email_log_status_updated_at_idx').on(t.status, t.updatedAt),
    check('email_log_attempts_nonnegative', sql`${t.attempts} >= 0`),
  ],
);

export const emailTokenPurpose = pgEnum('email_token_purpose', ['verify_email', 'reset_password']);

/**
 * One-time tokens sent by email (address verification, password reset). Only a SHA-256 hash is
 * stored; a token is spent by setting `used_at`, and issuing a new one spends the older ones of
 * the same purpose, so only the latest link works. `email` is the address the token was sent to:
 * verifying an address the account no longer has proves nothing.
 */
export const emailTokens = pgTable(
  'email_tokens',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    purpose: emailTokenPurpose('purpose').notNull(),
    tokenHash: text('token_hash').notNull().unique('email_tokens_token_hash_key'),
    email: text('email').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true, mode: 'date' }),
    createdAt: createdAt(),
  },
  (t) => [index('email_tokens_user_id_purpose_idx').on(t.userId, t.purpose)],
);

/** One switch per notification kind; no row means every switch is on (the default). */
export const notificationPreferences = pgTable('notification_preferences', {
  userId: integer('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  newFollower: boolean('new_follower').notNull().default(true),
  newComment: boolean('new_comment').notNull().default(true),
  newArticle: boolean('new_article').notNull().default(true),
  weeklyDigest: boolean('weekly_digest').notNull().default(true),
  updatedAt: updatedAt(),
});

// ── jobs (src/jobs) ─────────────────────────────────────────────────────────────────────────────

export const jobOutboxStatus = pgEnum('job_outbox_status', ['pending', 'enqueued', 'done', 'failed']);

/**
 * Transactional outbox: work a request starts is recorded here in the same transaction as the
 * change, then enqueued after commit (job id = row id, so enqueuing twice is a no-op). A periodic
 * sweep enqueues rows whose enqueue was lost (Redis down, process crash); the database is the
 * source of truth, the queue only the mechanism. Handlers mark their row done.
 */
export const jobOutbox = pgTable(
  'job_outbox',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    // Recording the same work twice (a retried request, two racing writers) keeps one row.
    dedupeKey: text('dedupe_key').unique('job_outbox_dedupe_key_key'),
    runAt: timestamp('run_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    status: jobOutboxStatus('status').notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    createdAt: createdAt(),
    enqueuedAt: timestamp('enqueued_at', { withTimezone: true, mode: 'date' }),
    doneAt: timestamp('done_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    // The sweep reads `pending` rows and long-`enqueued` ones; done rows are never scanned.
    index('job_outbox_open_idx').on(t.status, t.runAt).where(sql`${t.status} in ('pending', 'enqueued')`),
    check('job_outbox_attempts_nonnegative', sql`${t.attempts} >= 0`),
  ],
);
