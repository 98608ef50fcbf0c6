import { and, eq, inArray, notInArray, type SQL, sql } from 'drizzle-orm';
import { cacheWrites } from '../../cache/namespaces.js';
import type { Transaction } from '../../db/client.js';
import { articles, articleTags, favorites, tags } from '../../db/schema.js';
import { ForbiddenError, NotFoundError, ValidationError } from '../../errors.js';
import type { UnitOfWork } from '../../unit-of-work.js';
import { recordArticlePublished, recordScheduledPublish } from './publishing.js';
import { type FullArticleView, findVisibleArticleId, getArticleById, visibleTo } from './queries.js';
import { slugCandidate, slugify } from './slug.js';

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

/** Tags are trimmed, blank ones dropped, duplicates removed; stored order is irrelevant (reads sort). */
export function normalizeTags(tagList: readonly string[]): string[] {
  return [...new Set(tagList.map((tag) => tag.trim()).filter((tag) => tag !== ''))];
}

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

/**
 * The ids of the tags named `names`, creating the missing ones. Existing tags are only read: an
 * INSERT of a taken name waits for any open transaction that moved that tag's article count.
 * Missing tags are inserted with ON CONFLICT DO NOTHING (a concurrent create of the same tag waits
 * for the other transaction instead of failing), in sorted order so two transactions never lock
 * tag names in opposite orders.
 *
 * Call it before the transaction changes anything counted (publishing, linking, deleting a
 * published article): the counter triggers lock `article_counts` until commit, and holding it
 * while waiting for a tag name another writer holds could deadlock with that writer
 * (migrations/0002_article_counts_triggers.sql).
 */
async function resolveTags(tx: Transaction, names: readonly string[]): Promise<number[]> {
  if (names.length === 0) return [];
  const found = await tx.select({ id: tags.id, name: tags.name }).from(tags).where(inArray(tags.name, names));
  const missing = names.filter((name) => !found.some((tag) => tag.name === name)).sort();
  if (missing.length === 0) return found.map((tag) => tag.id);
  const created = await tx
    .insert(tags)
    .values(missing.map((name) => ({ name })))
    .onConflictDoNothing({ target: tags.name })
    .returning({ id: tags.id });
  // Fewer rows than names: another transaction created some of them meanwhile; read them back.
  const added =
    created.length === missing.length
      ? created
      : await tx.select({ id: tags.id }).from(tags).where(inArray(tags.name, missing));
  return [...found, ...added].map((tag) => tag.id);
}

/**
 * Links exactly these tags to the article: unlinks the others, links the new ones. Kept links are
 * left alone, so their tags' article counts do not move.
 */
async function setArticleTags(tx: Transaction, articleId: number, tagIds: readonly number[]): Promise<void> {
  await tx
    .delete(articleTags)
    .where(
      and(
        eq(articleTags.articleId, articleId),
        tagIds.length === 0 ? undefined : notInArray(articleTags.tagId, [...tagIds]),
      ),
    );
  await linkTags(tx, articleId, tagIds);
}

async function linkTags(tx: Transaction, articleId: number, tagIds: readonly number[]): Promise<void> {
  if (tagIds.length === 0) return;
  await tx
    .insert(articleTags)
    .values(tagIds.map((tagId) => ({ articleId, tagId })))
    .onConflictDoNothing();
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
  // Before the article: inserting a published one locks the counters (see resolveTags).
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
  // Tags before the publishing UPDATE below: resolveTags must run before anything counted.
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
