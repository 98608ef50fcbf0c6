import { sql } from 'drizzle-orm';
import type { Database } from '../src/db/client.js';
import {
  articles,
  articleTags,
  comments,
  emailLog,
  favorites,
  follows,
  jobOutbox,
  tags,
  users,
} from '../src/db/schema.js';
import { hashPassword } from '../src/modules/auth/passwords.js';
import { addComment } from '../src/modules/comments/service.js';
import { followUser } from '../src/modules/profiles/service.js';
import { insertUser, prepareNewUser } from '../src/modules/users/service.js';
import { runWrite, type WriteDeps } from '../src/unit-of-work.js';

/**
 * The benchmark's data set. The signed-in user is registered, follows and writes through the
 * services (real argon2, real transactions); the bulk (1,000 users, 20,000 articles, tags,
 * follows, favorites, comments) is written with multi-row INSERTs through the Drizzle schema,
 * because one service transaction per row would take minutes: 20,000 createArticle calls are
 * ~100,000 statements. (The create-article scenario exercises createArticle under load.) The bulk
 * users share one argon2 hash of BENCH_PASSWORD (1,000 hashes are ~30 s of CPU on 2 cores);
 * verifying it costs exactly what verifying a per-user hash costs.
 *
 * Apart from them, an author without articles and 10,000 readers who follow only that author: the
 * fan-out of one article to 10,000 followers (bench/fan-out.ts). Kept apart so that they change
 * nothing the HTTP scenarios read (lists, feeds, tags, the benchmark user's follows).
 */

export const BENCH_PASSWORD = 'bench-password-1';
export const BENCH_USER = { username: 'benchuser', email: 'bench@example.com' } as const;

export interface SeedSize {
  users: number;
  articles: number;
  tags: number;
  followsPerUser: number;
  favorites: number;
  commentsPerArticle: number;
  /** Followers of the fan-out author (each follows nobody else). */
  fanOutFollowers: number;
}

export const DEFAULT_SIZE: SeedSize = {
  users: 1000,
  articles: 20_000,
  tags: 50,
  followsPerUser: 40,
  favorites: 50_000,
  commentsPerArticle: 2,
  fanOutFollowers: 10_000,
};

export interface SeedResult {
  benchUserId: number;
  /** The benchmark user and the bulk users (not the fan-out readers), in insertion order. */
  userIds: number[];
  /** The author the fan-out measurement publishes as; `fanOutFollowers` readers follow them. */
  fanOutAuthorId: number;
  fanOutFollowers: number;
  slugs: string[];
  /** An article with many comments (the comments scenario). */
  commentedSlug: string;
  popularTag: string;
  seconds: number;
}

/** Deterministic, so two runs measure the same data. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const WORDS =
  'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua'.split(
    ' ',
  );

function text(rand: () => number, words: number): string {
  const out: string[] = [];
  for (let i = 0; i < words; i++) out.push(WORDS[Math.floor(rand() * WORDS.length)] ?? 'lorem');
  return out.join(' ');
}

async function inBatches<T>(rows: readonly T[], size: number, write: (batch: T[]) => Promise<unknown>) {
  for (let i = 0; i < rows.length; i += size) await write(rows.slice(i, i + size));
}

export async function seed(db: Database, size: SeedSize = DEFAULT_SIZE): Promise<SeedResult> {
  const started = performance.now();
  const rand = random(42);
  const pick = (n: number) => Math.floor(rand() * n);

  // The service writes run as units of work with no queue or cache behind them; the emails they
  // queue (new follower, new comment) are deleted at the end: a fresh bench database has no mail to send.
  const writes: WriteDeps = {
    db,
    jobs: { flushRecorded: async () => {} },
    cache: { invalidate: async () => {} },
    config: { jwtSecret: 'bench-seed', appUrl: 'http://localhost' },
  };

  // The signed-in user of the benchmark, through the service (argon2 included).
  const prepared = await prepareNewUser(db, { ...BENCH_USER, password: BENCH_PASSWORD });
  const benchUser = await runWrite(writes, (uow) => insertUser(uow, prepared));

  const sharedHash = await hashPassword(BENCH_PASSWORD);
  const userRows = Array.from({ length: size.users - 1 }, (_, i) => ({
    username: `user${i + 1}`,
    email: `user${i + 1}@example.com`,
    passwordHash: sharedHash,
    bio: text(rand, 12),
  }));
  const userIds: number[] = [benchUser.id];
  await inBatches(userRows, 1000, async (batch) => {
    const rows = await db.insert(users).values(batch).returning({ id: users.id });
    userIds.push(...rows.map((row) => row.id));
  });

  // Follows: everybody follows `followsPerUser` others; the bench user's go through the service.
  const followRows: { followerId: number; followingId: number }[] = [];
  for (const followerId of userIds.slice(1)) {
    const targets = new Set<number>();
    while (targets.size < size.followsPerUser) {
      const target = userIds[pick(userIds.length)] ?? followerId;
      if (target !== followerId) targets.add(target);
    }
    for (const followingId of targets) followRows.push({ followerId, followingId });
  }
  await inBatches(followRows, 5000, (batch) => db.insert(follows).values(batch).onConflictDoNothing());
  for (let i = 1; i <= size.followsPerUser; i++) {
    await runWrite(writes, (uow) => followUser(uow, benchUser.id, `user${i * 7}`));
  }

  const tagRows = await db
    .insert(tags)
    .values(Array.from({ length: size.tags }, (_, i) => ({ name: `tag${i}` })))
    .returning({ id: tags.id, name: tags.name });

  // 1–4 tags per article; tag popularity is skewed (low ids more often), like real tag clouds.
  const tagsOfArticle = Array.from({ length: size.articles }, () => {
    const chosen = new Set<(typeof tagRows)[number]>();
    const count = 1 + pick(4);
    while (chosen.size < count) {
      const tag = tagRows[Math.floor(rand() * rand() * tagRows.length)];
      if (tag) chosen.add(tag);
    }
    return [...chosen];
  });

  // Articles over the past year, newest last inserted. Each row carries its `tag_list` (what the
  // triggers of migration 0004 write when the links go in): the triggers then find nothing to
  // change, where rewriting 20,000 rows after the fact would leave the heap out of publication
  // order, unlike a database filled one article at a time.
  const now = Date.now();
  const yearMs = 365 * 86400_000;
  const articleRows = Array.from({ length: size.articles }, (_, i) => {
    const createdAt = new Date(now - yearMs + Math.floor((i / size.articles) * yearMs));
    return {
      tagList: (tagsOfArticle[i] ?? []).map((tag) => tag.name).sort(),
      slug: `bench-article-${i}`,
      title: `Bench article ${i} ${text(rand, 4)}`,
      description: text(rand, 16),
      body: text(rand, 150),
      authorId: userIds[pick(userIds.length)] ?? benchUser.id,
      createdAt,
      updatedAt: createdAt,
      publishedAt: createdAt,
    };
  });
  const articleIds: number[] = [];
  await inBatches(articleRows, 1000, async (batch) => {
    const rows = await db.insert(articles).values(batch).returning({ id: articles.id });
    articleIds.push(...rows.map((row) => row.id));
  });

  const articleTagRows = articleIds.flatMap((articleId, i) =>
    (tagsOfArticle[i] ?? []).map((tag) => ({ articleId, tagId: tag.id })),
  );
  await inBatches(articleTagRows, 10_000, (batch) => db.insert(articleTags).values(batch));

  const favoriteKeys = new Set<string>();
  const favoriteRows: { userId: number; articleId: number }[] = [];
  while (favoriteRows.length < size.favorites) {
    const userId = userIds[pick(userIds.length)] ?? benchUser.id;
    const articleId = articleIds[pick(articleIds.length)] ?? 0;
    const key = `${userId}:${articleId}`;
    if (favoriteKeys.has(key)) continue;
    favoriteKeys.add(key);
    favoriteRows.push({ userId, articleId });
  }
  await inBatches(favoriteRows, 10_000, (batch) => db.insert(favorites).values(batch));
  // The denormalised counter the services keep in step with `favorites`.
  await db.update(articles).set({
    favoritesCount: sql`(select count(*) from ${favorites} where ${favorites.articleId} = ${articles.id})`,
  });

  const commentRows: { body: string; articleId: number; authorId: number }[] = [];
  for (const articleId of articleIds) {
    for (let c = 0; c < size.commentsPerArticle; c++) {
      commentRows.push({ body: text(rand, 30), articleId, authorId: userIds[pick(userIds.length)] ?? 0 });
    }
  }
  await inBatches(commentRows, 5000, (batch) => db.insert(comments).values(batch));

  // Twenty more comments on one article, through the service (the comments scenario reads them).
  const commentedSlug = articleRows[articleRows.length - 2]?.slug ?? 'bench-article-0';
  for (let c = 0; c < 20; c++) {
    const authorId = userIds[1 + c] ?? benchUser.id;
    await runWrite(writes, (uow) => addComment(uow, authorId, commentedSlug, text(rand, 25)));
  }
  await db.delete(jobOutbox);
  await db.delete(emailLog);
  // The fan-out author and their readers: users that write nothing and follow only that author.
  const [fanOutAuthor] = await db
    .insert(users)
    .values({ username: 'fanout-author', email: 'fanout-author@example.com', passwordHash: sharedHash })
    .returning({ id: users.id });
  if (!fanOutAuthor) throw new Error('seed: no fan-out author');
  const readerRows = Array.from({ length: size.fanOutFollowers }, (_, i) => ({
    username: `reader${i + 1}`,
    email: `reader${i + 1}@example.com`,
    passwordHash: sharedHash,
  }));
  await inBatches(readerRows, 2000, async (batch) => {
    const rows = await db.insert(users).values(batch).returning({ id: users.id });
    await db
      .insert(follows)
      .values(rows.map((row) => ({ followerId: row.id, followingId: fanOutAuthor.id })));
  });

  // A database that has been running is vacuumed: without the visibility map a count(*) reads the
  // whole 50 MB heap (11.6 ms) instead of an index (2.6 ms), which would blame the code for a
  // freshly bulk-loaded table.
  await db.execute(sql`vacuum analyze`);

  return {
    benchUserId: benchUser.id,
    userIds,
    fanOutAuthorId: fanOutAuthor.id,
    fanOutFollowers: size.fanOutFollowers,
    slugs: articleRows.map((row) => row.slug),
    commentedSlug,
    popularTag: 'tag0',
    seconds: (performance.now() - started) / 1000,
  };
}
