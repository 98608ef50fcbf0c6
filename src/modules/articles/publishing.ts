import { and, asc, eq, inArray, isNull, lte, sql } from 'drizzle-orm';
import { cacheWrites } from '../../cache/namespaces.js';
import type { Database } from '../../db/client.js';
import { articles, follows } from '../../db/schema.js';
import type { UnitOfWork } from '../../unit-of-work.js';
import { articlePublishedJobType } from '../notifications/job-types.js';
import { publishArticleJobType } from './job-types.js';

/**
 * Scheduled publishing. `articles.published_at` is null while an article waits for its
 * `publish_at`; the database is the source of truth and the queue only the mechanism: a delayed
 * `articles.publish` job (recorded in the outbox with the schedule) publishes it on time, and
 * `articles.publish-due` (every minute) publishes whatever is due that a lost job missed. Both run
 * the same guarded UPDATE, so whichever comes first publishes and the other finds nothing.
 */

/** Articles the due sweep publishes per transaction; it loops until none is left. */
const DUE_BATCH = 200;
/**
 * A delayed job that finds its article due within this margin ran a little early (queue timer or
 * clock skew between the process and the database): it retries instead of leaving it to the sweep.
 */
const EARLY_MARGIN_MS = 5000;

export interface PublishedArticle {
  id: number;
  slug: string;
}

/**
 * The follow-up of any publish, immediate or scheduled (follower emails), recorded in the
 * publishing transaction. The dedupe key makes it once per article whatever publishes it. An
 * author nobody follows records none: the job would find nobody to email, at the cost of an
 * outbox row, an enqueue and a run per article.
 */
export async function recordArticlePublished(uow: UnitOfWork, articleId: number): Promise<void> {
  // Named: every create asks, so PostgreSQL plans it once per connection.
  const [followed] = await uow.tx
    .select({ one: sql<number>`1` })
    .from(follows)
    .innerJoin(articles, eq(articles.authorId, follows.followingId))
    .where(eq(articles.id, sql.placeholder('articleId')))
    .limit(1)
    .prepare('article_author_followed')
    .execute({ articleId });
  if (!followed) return;
  await uow.job(articlePublishedJobType, { articleId }, { dedupeKey: `article-published:${articleId}` });
}

/**
 * The delayed publish job of a schedule. Keyed by article and time: a reschedule records a new
 * row (the old job will find nothing due and do nothing), the same time twice records one.
 */
export function recordScheduledPublish(uow: UnitOfWork, articleId: number, publishAt: Date): Promise<void> {
  return uow.job(
    publishArticleJobType,
    { articleId },
    { runAt: publishAt, dedupeKey: `publish-article:${articleId}:${publishAt.getTime()}` },
  );
}

/** A scheduled article becomes visible: its follow-up and what everyone sees of it. */
async function published(uow: UnitOfWork, row: PublishedArticle): Promise<PublishedArticle> {
  await recordArticlePublished(uow, row.id);
  uow.invalidate(cacheWrites.articlePublished(row.slug));
  return row;
}

const isDue = and(isNull(articles.publishedAt), lte(articles.publishAt, sql`now()`));

/**
 * Publishes one article if it is still scheduled and due (idempotent: a replay, or a job whose
 * article was rescheduled, published early or deleted, changes nothing and returns null).
 */
export async function publishArticleIfDue(
  uow: UnitOfWork,
  articleId: number,
): Promise<PublishedArticle | null> {
  const [row] = await uow.tx
    .update(articles)
    .set({ publishedAt: sql`now()` })
    .where(and(eq(articles.id, articleId), isDue))
    .returning({ id: articles.id, slug: articles.slug });
  return row ? published(uow, row) : null;
}

/**
 * Whether the article is still scheduled and due within a few seconds: a publish job that found
 * it not due yet fired early (queue timer or clock skew) and should retry.
 */
export async function isAlmostDue(db: Database, articleId: number): Promise<boolean> {
  const [early] = await db
    .select({ id: articles.id })
    .from(articles)
    .where(
      and(
        eq(articles.id, articleId),
        isNull(articles.publishedAt),
        lte(articles.publishAt, sql`now() + make_interval(secs => ${EARLY_MARGIN_MS / 1000})`),
      ),
    );
  return early !== undefined;
}

/**
 * Publishes a batch of due scheduled articles (one UPDATE over the partial index
 * `articles_scheduled_publish_at_idx`); the caller runs batches until one is not full. SKIP
 * LOCKED: rows a publish job or another sweep holds are theirs; the next run sees them published.
 */
export async function publishDueBatch(
  uow: UnitOfWork,
): Promise<{ published: PublishedArticle[]; more: boolean }> {
  const due = uow.tx
    .select({ id: articles.id })
    .from(articles)
    .where(isDue)
    .orderBy(asc(articles.publishAt))
    .limit(DUE_BATCH)
    .for('update', { skipLocked: true });
  const rows = await uow.tx
    .update(articles)
    .set({ publishedAt: sql`now()` })
    .where(and(inArray(articles.id, due), isDue))
    .returning({ id: articles.id, slug: articles.slug });
  const done: PublishedArticle[] = [];
  for (const row of rows) done.push(await published(uow, row));
  return { published: done, more: rows.length === DUE_BATCH };
}
