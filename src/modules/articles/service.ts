import { and, eq, type SQL, sql } from 'drizzle-orm';
import { cacheWrites } from '../../cache/namespaces.js';
import type { Transaction } from '../../db/client.js';
import { articles, favorites } from '../../db/schema.js';
import { ForbiddenError, NotFoundError, ValidationError } from '../../errors.js';
import type { UnitOfWork } from '../../unit-of-work.js';
import { recordArticlePublished, recordScheduledPublish } from './publishing.js';
import { type FullArticleView, findVisibleArticleId, getArticleById, visibleTo } from './queries.js';
import { slugCandidate, slugify } from './slug.js';
import { linkTags, normalizeTags, resolveTags, setArticleTags } from './tagging.js';

/**
 * The write side of articles. Each function runs in a unit of work (`runWrite`, src/unit-of-work.ts):
 * its SQL on `uow.tx`, and the jobs and cache namespaces that follow recorded on `uow`.
 */

export interface NewArticle {
  title: string;
  description: string;
  body: string;
  tagList?: string[];
  /** ISO 8601; in the future → scheduled (see publishing.ts), otherwise published now. */
  publishAt?: string;
}

export interface ArticleChanges extends Partial<Omit<NewArticle, 'publishAt'>> {
  /** A scheduled article only: a future time reschedules it; null or a past time publishes it now. */
  publishAt?: string | null;
}

/** The requested time when it is still ahead (a schedule), undefined when it means "now". */
function futureTime(publishAt: string | null | undefined): Date | undefined {
  if (publishAt === undefined || publishAt === null) return undefined;
  const time = new Date(publishAt);
  return time.getTime() > Date.now() ? time : undefined;
}

/** Tries of a suffixed slug after the plain one is taken; six random base-36 chars rarely collide. */
const SLUG_ATTEMPTS = 5;
const SLUG_CONSTRAINT = 'articles_slug_key';

function requireText(fields: Record<string, string | undefined>): void {
  const blank = Object.entries(fields).filter(([, value]) => value !== undefined && value.trim() === '');
  if (blank.length > 0) {
    throw new ValidationError(Object.fromEntries(blank.map(([field]) => [field, ["can't be blank"]])));
  }
}

/** Walks the cause chain: drizzle wraps driver errors (node-postgres and PGlite name fields differently). */
function isUniqueViolation(error: unknown, constraint: string): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    const fields = e as Error & { code?: string; constraint_name?: string; constraint?: string };
    if (fields.code === '23505') return (fields.constraint_name ?? fields.constraint) === constraint;
  }
  return false;
}

export async function createArticle(
  uow: UnitOfWork,
  authorId: number,
  input: NewArticle,
): Promise<FullArticleView> {
  requireText({ title: input.title, description: input.description, body: input.body });
  const title = input.title.trim();
  const base = slugify(title);
  const scheduledFor = futureTime(input.publishAt);
  const { tx } = uow;
  const tagIds = await resolveTags(tx, normalizeTags(input.tagList ?? []));
  let id: number | undefined;
  // The unique index decides: ON CONFLICT DO NOTHING waits for a concurrent insert of the same
  // slug and then yields no row, so the loser retries with a suffix instead of failing.
  for (let attempt = 0; id === undefined && attempt <= SLUG_ATTEMPTS; attempt++) {
    const [row] = await tx
      .insert(articles)
      .values({
        slug: slugCandidate(base, attempt),
        title,
        description: input.description.trim(),
        body: input.body,
        authorId,
        // Unscheduled: `published_at` takes its default, the transaction's now() (= created_at).
        ...(scheduledFor ? { publishAt: scheduledFor, publishedAt: null } : {}),
      })
      .onConflictDoNothing({ target: articles.slug })
      .returning({ id: articles.id });
    id = row?.id;
  }
  if (id === undefined) throw new Error(`no free slug for "${base}" after ${SLUG_ATTEMPTS} suffixes`);
  await linkTags(tx, id, tagIds);
  if (scheduledFor) await recordScheduledPublish(uow, id, scheduledFor);
  else await recordArticlePublished(uow, id);
  const article = await getArticleById(tx, id, authorId);
  uow.invalidate(cacheWrites.articleCreated(article.slug));
  return article;
}

/** Locks the article for a write by its author: 404 when absent (or invisible), 403 when not theirs. */
async function lockOwnArticle(tx: Transaction, viewerId: number, slug: string) {
  const [article] = await tx
    .select({
      id: articles.id,
      title: articles.title,
      authorId: articles.authorId,
      publishedAt: articles.publishedAt,
    })
    .from(articles)
    .where(and(eq(articles.slug, slug), visibleTo(viewerId)))
    .for('update');
  if (!article) throw new NotFoundError('Article');
  if (article.authorId !== viewerId) throw new ForbiddenError('Only the author may change this article');
  return article;
}

/**
 * A changed title yields a new slug (the old one stops resolving), unless both titles give the same
 * base ("Same title" → "Same Title!"): then the slug, suffix included, is still right and stays.
 * UPDATE has no ON CONFLICT, so each try runs in a savepoint: a unique violation rolls back only it.
 */
async function renameSlug(tx: Transaction, id: number, oldTitle: string, newTitle: string): Promise<void> {
  const base = slugify(newTitle);
  if (base === slugify(oldTitle)) return;
  for (let attempt = 0; attempt <= SLUG_ATTEMPTS; attempt++) {
    const slug = slugCandidate(base, attempt);
    try {
      await tx.transaction((savepoint) =>
        savepoint.update(articles).set({ slug }).where(eq(articles.id, id)),
      );
      return;
    } catch (error) {
      if (!isUniqueViolation(error, SLUG_CONSTRAINT)) throw error;
    }
  }
  throw new Error(`no free slug for "${base}" after ${SLUG_ATTEMPTS} suffixes`);
}

/**
 * The publication part of an update: reschedule (a new delayed job; the old one will find nothing
 * due) or publish now (with the same follow-up as an immediate create). Publishing cannot be undone.
 */
async function changeSchedule(
  uow: UnitOfWork,
  article: { id: number; publishedAt: Date | null },
  publishAt: string | null | undefined,
): Promise<{ publishAt?: Date | null; publishedAt?: SQL }> {
  if (publishAt === undefined) return {};
  if (article.publishedAt !== null) {
    throw new ValidationError({ publishAt: ['cannot be changed: the article is already published'] });
  }
  const scheduledFor = futureTime(publishAt);
  if (scheduledFor) {
    await recordScheduledPublish(uow, article.id, scheduledFor);
    return { publishAt: scheduledFor };
  }
  await recordArticlePublished(uow, article.id);
  return { publishAt: null, publishedAt: sql`now()` };
}

export async function updateArticle(
  uow: UnitOfWork,
  viewerId: number,
  slug: string,
  changes: ArticleChanges,
): Promise<FullArticleView> {
  requireText({ title: changes.title, description: changes.description, body: changes.body });
  const { tx } = uow;
  const article = await lockOwnArticle(tx, viewerId, slug);
  const schedule = await changeSchedule(uow, article, changes.publishAt);
  const title = changes.title?.trim();
  if (title !== undefined && title !== article.title) await renameSlug(tx, article.id, article.title, title);
  const fields = {
    ...(title === undefined ? {} : { title }),
    ...(changes.description === undefined ? {} : { description: changes.description.trim() }),
    ...(changes.body === undefined ? {} : { body: changes.body }),
    ...schedule,
  };
  if (changes.tagList !== undefined) {
    await setArticleTags(tx, article.id, await resolveTags(tx, normalizeTags(changes.tagList)));
  }
  if (Object.keys(fields).length > 0 || changes.tagList !== undefined) {
    await tx
      .update(articles)
      .set({ ...fields, updatedAt: sql`now()` })
      .where(eq(articles.id, article.id));
  }
  const updated = await getArticleById(tx, article.id, viewerId);
  uow.invalidate(cacheWrites.articleUpdated(slug, updated.slug));
  return updated;
}

/** Comments, favorites and tag links go with it (ON DELETE CASCADE, same statement). */
export async function deleteArticle(uow: UnitOfWork, viewerId: number, slug: string): Promise<void> {
  const article = await lockOwnArticle(uow.tx, viewerId, slug);
  await uow.tx.delete(articles).where(eq(articles.id, article.id));
  uow.invalidate(cacheWrites.articleDeleted(slug));
}

/**
 * Idempotent. The counter moves only when a favorites row was really inserted, in the same
 * transaction, so it stays exact under concurrent requests (the primary key serialises twins).
 */
export async function favoriteArticle(
  uow: UnitOfWork,
  viewerId: number,
  slug: string,
): Promise<FullArticleView> {
  const { tx } = uow;
  const articleId = await findVisibleArticleId(tx, slug, viewerId, { lock: true });
  const inserted = await tx
    .insert(favorites)
    .values({ userId: viewerId, articleId })
    .onConflictDoNothing()
    .returning({ articleId: favorites.articleId });
  if (inserted.length > 0) await moveFavoritesCount(tx, articleId, +1);
  return favoriteResult(uow, articleId, viewerId);
}

/** Idempotent; the counter moves only when a favorites row was really deleted. */
export async function unfavoriteArticle(
  uow: UnitOfWork,
  viewerId: number,
  slug: string,
): Promise<FullArticleView> {
  const { tx } = uow;
  const articleId = await findVisibleArticleId(tx, slug, viewerId, { lock: true });
  const deleted = await tx
    .delete(favorites)
    .where(and(eq(favorites.userId, viewerId), eq(favorites.articleId, articleId)))
    .returning({ articleId: favorites.articleId });
  if (deleted.length > 0) await moveFavoritesCount(tx, articleId, -1);
  return favoriteResult(uow, articleId, viewerId);
}

async function moveFavoritesCount(tx: Transaction, articleId: number, by: 1 | -1): Promise<void> {
  await tx
    .update(articles)
    .set({ favoritesCount: sql`${articles.favoritesCount} + ${by}` })
    .where(eq(articles.id, articleId));
}

async function favoriteResult(
  uow: UnitOfWork,
  articleId: number,
  viewerId: number,
): Promise<FullArticleView> {
  const view = await getArticleById(uow.tx, articleId, viewerId);
  uow.invalidate(cacheWrites.favoriteChanged(view.slug, viewerId));
  return view;
}
