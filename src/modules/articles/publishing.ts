import { and, asc, eq, inArray, isNull, lte, sql } from 'drizzle-orm';
import type { Database, Transaction } from '../../db/client.js';
import { articles } from '../../db/schema.js';
import { recordJob } from '../../jobs/outbox.js';

/**
 * Scheduled publishing. `articles.published_at` is null while an article waits for its
 * `publish_at`; the database is the source of truth and the queue only the mechanism: a delayed
 * `articles.publish` job (recorded in the outbox with the schedule) publishes it on time, and
 * `articles.publish-due` (every minute) publishes whatever is due that a lost job missed. Both run
 * the same guarded UPDATE, so whichever comes first publishes and the other finds nothing.
 */

/** Articles the due sweep publishes per statement; it loops until none is left. */
const DUE_BATCH = 200;
/**
 * A delayed job that finds its article due within this margin ran a little early (queue timer or
 * clock skew between the process and the database): it retries instead of leaving it to the sweep.
 */
const EARLY_MARGIN_MS = 5000;

export interface PublishedArticle {
  id: number;
  slug: string;
  /** Outbox rows of the follow-up work, to `jobs.flush` after the commit. */
  outboxIds: string[];
}

/**
 * The follow-up of any publish, immediate or scheduled (follower emails), recorded in the
 * publishing transaction. The dedupe key makes it once per article whatever publishes it.
 */
export function recordArticlePublished(tx: Transaction, articleId: number): Promise<string> {
  return recordJob(
    tx,
    'notifications.article-published',
    { articleId },
    { dedupeKey: `article-published:${articleId}` },
  );
}

/**
 * The delayed publish job of a schedule. Keyed by article and time: a reschedule records a new
 * row (the old job will find nothing due and do nothing), the same time twice records one.
 */
export function recordScheduledPublish(tx: Transaction, articleId: number, publishAt: Date): Promise<string> {
  return recordJob(
    tx,
    'articles.publish',
    { articleId },
    { runAt: publishAt, dedupeKey: `publish-article:${articleId}:${publishAt.getTime()}` },
  );
}

const isDue = and(isNull(articles.publishedAt), lte(articles.publishAt, sql`now()`));

/**
 * Publishes one article if it is still scheduled and due (idempotent: a replay, or a job whose
 * article was rescheduled, published early or deleted, changes nothing and returns null).
 * Throws when the article is due within a few seconds: the job fired early and should retry.
 */
export async function publishArticleIfDue(db: Database, articleId: number): Promise<PublishedArticle | null> {
  const published = await db.transaction(async (tx) => {
    const [row] = await tx
      .update(articles)
      .set({ publishedAt: sql`now()` })
      .where(and(eq(articles.id, articleId), isDue))
      .returning({ id: articles.id, slug: articles.slug });
    if (!row) return null;
    return { ...row, outboxIds: [await recordArticlePublished(tx, row.id)] };
  });
  if (published) return published;
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
  if (early) throw new Error(`article ${articleId} is not due yet (the job ran early); retrying`);
  return null;
}

/**
 * Publishes every due scheduled article, a batch per transaction (one UPDATE each, over the
 * partial index `articles_scheduled_publish_at_idx`). SKIP LOCKED: rows a publish job or another
 * sweep holds are theirs; the next run sees them published.
 */
export async function publishDueArticles(db: Database): Promise<PublishedArticle[]> {
  const all: PublishedArticle[] = [];
  for (;;) {
    const batch = await db.transaction(async (tx) => {
      const due = tx
        .select({ id: articles.id })
        .from(articles)
        .where(isDue)
        .orderBy(asc(articles.publishAt))
        .limit(DUE_BATCH)
        .for('update', { skipLocked: true });
      const rows = await tx
        .update(articles)
        .set({ publishedAt: sql`now()` })
        .where(and(inArray(articles.id, due), isDue))
        .returning({ id: articles.id, slug: articles.slug });
      const published: PublishedArticle[] = [];
      for (const row of rows) {
        published.push({ ...row, outboxIds: [await recordArticlePublished(tx, row.id)] });
      }
      return published;
    });
    all.push(...batch);
    if (batch.length < DUE_BATCH) return all;
  }
}
