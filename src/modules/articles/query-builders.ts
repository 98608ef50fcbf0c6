import { and, count, desc, eq, isNotNull, or, type Placeholder, type SQL, sql } from 'drizzle-orm';
import type { Queryable } from '../../db/client.js';
import {
  articleCountTotals,
  articles,
  authorArticleCounts,
  favorites,
  follows,
  tags,
  users,
} from '../../db/schema.js';
import { type ProfileView, profileColumns, usernameIs } from '../profiles/service.js';

/**
 * The SQL of the article reads, as Drizzle builders: queries.ts runs them, prepared.ts prepares the
 * hot ones once per database handle. One builder per shape, so a prepared statement and a query
 * built per call are the same SQL.
 */

export type { Queryable };

export interface ArticleFilter {
  tag?: string;
  /** Username of the author. */
  author?: string;
  /** Username of a user who favorited the articles. */
  favorited?: string;
  /** Feed: only articles by authors this user follows. */
  followedBy?: number;
  limit: number;
  offset: number;
}

export const FILTERS = ['tag', 'author', 'favorited', 'followedBy'] as const;

/** A filter as values, or as placeholders of a prepared statement (`sql.placeholder`). */
export type FilterShape = {
  [K in (typeof FILTERS)[number]]?: ArticleFilter[K] | Placeholder;
};

/**
 * THE predicate "which articles may this viewer see", used by every read and write that looks an
 * article up: published articles, plus the viewer's own scheduled ones (`published_at` null until
 * the publish job or the due sweep sets it). Lists, feeds, counts and tags use `visibleTo(null)`
 * whoever asks: a scheduled article is absent from all of them, its author's included, so a list
 * is the same for every viewer and the shared response cache stays correct.
 */
export function visibleTo(viewerId: number | Placeholder | null): SQL | undefined {
  const published = isNotNull(articles.publishedAt);
  return viewerId === null ? published : or(published, eq(articles.authorId, viewerId));
}

export const summaryColumns = {
  id: articles.id,
  slug: articles.slug,
  title: articles.title,
  description: articles.description,
  // Alphabetical: the column triggers keep from article_tags (migrations/0004_…), read in the row
  // instead of a subquery per article.
  tagList: articles.tagList,
  createdAt: articles.createdAt,
  updatedAt: articles.updatedAt,
  publishAt: articles.publishAt,
  publishedAt: articles.publishedAt,
  favoritesCount: articles.favoritesCount,
  author: profileColumns,
};

export interface ArticleRow {
  id: number;
  slug: string;
  title: string;
  description: string;
  body?: string;
  tagList: string[];
  createdAt: Date;
  updatedAt: Date;
  publishAt: Date | null;
  publishedAt: Date | null;
  favoritesCount: number;
  author: ProfileView;
}

function userIdByUsername(username: string | Placeholder): SQL {
  return sql`(select ${users.id} from ${users} where ${usernameIs(username)})`;
}

/**
 * The WHERE clause of a list or feed; each filter is indexed: `?tag=` an array containment, the
 * others a semi-join (see docs/QUERIES.md).
 * Only published articles, whoever the viewer (see `visibleTo`).
 */
function filterCondition(filter: FilterShape): SQL | undefined {
  return and(
    visibleTo(null),
    // The tag_list column, not the article_tags links: its GIN index and element statistics let
    // the planner serve a popular and a rare tag each their own way (articles_tag_list_idx).
    filter.tag === undefined ? undefined : sql`${articles.tagList} @> array[${filter.tag}]::text[]`,
    filter.author === undefined ? undefined : sql`${articles.authorId} = ${userIdByUsername(filter.author)}`,
    filter.favorited === undefined
      ? undefined
      : sql`${articles.id} in (select ${favorites.articleId} from ${favorites}
          where ${favorites.userId} = ${userIdByUsername(filter.favorited)})`,
    filter.followedBy === undefined
      ? undefined
      : sql`${articles.authorId} in (select ${follows.followingId} from ${follows}
          where ${follows.followerId} = ${filter.followedBy})`,
  );
}

/** The `article_count_totals` row of all published articles; a tag's row has the tag's id. */
const ALL_ARTICLES_COUNTER = 0;

function tagIdOf(name: string | Placeholder): SQL<number> {
  return sql<number>`(select ${tags.id} from ${tags} where ${tags.name} = ${name})`;
}

/**
 * The feed's total: the sum of the followed authors' counters (`author_article_counts`, kept by
 * triggers, migrations/0012_…) instead of a count of their articles, which reads every published
 * article of every followed author on every request.
 *
 * The counter is looked up once per follow (follows_pkey (follower_id, following_id), then the
 * counter's primary key), so the cost follows how many authors the viewer follows. Written as a
 * join, the planner may instead read the whole counter table (one row per author in the system)
 * into a hash join: its cost model prices each primary-key probe as a random read, so it prefers
 * a full scan as soon as the viewer follows a fair share of the table's pages, and that scan
 * grows with the number of authors. A scalar subquery per follow cannot be turned into a join.
 * An author with no counter row has published nothing. The outer column is written qualified:
 * Drizzle leaves columns of a one-table select unqualified.
 */
function followedAuthorsTotal(db: Queryable, viewerId: number | Placeholder) {
  return db
    .select({
      count: sql<number>`coalesce(sum((select c.published from ${authorArticleCounts} as c
        where c.author_id = ${follows}.following_id)), 0)::integer`,
    })
    .from(follows)
    .where(eq(follows.followerId, viewerId));
}

/**
 * How many articles the filter matches, as a scalar subquery of the page statement: one round trip
 * for the page and its total. No filter, `?tag=` alone and the feed alone read the counters the
 * triggers keep (`article_count_totals`, migrations/0009_…; `author_article_counts`, 0012_…); the
 * others count the matching rows.
 */
function totalOf(db: Queryable, filter: FilterShape): SQL<number> {
  const keys = FILTERS.filter((key) => filter[key] !== undefined);
  if (keys.length === 0) {
    // The counter id is bound, not written: it is the one parameter of the first-page statements
    // (prepared.ts), which a driver would otherwise send through the simple protocol, planned on
    // every execution.
    const all = ALL_ARTICLES_COUNTER;
    return sql<number>`(select ${articleCountTotals.published} from ${articleCountTotals} where ${articleCountTotals.tagId} = ${all})`;
  }
  if (keys.length === 1 && filter.tag !== undefined) {
    return sql<number>`(select ${articleCountTotals.published} from ${articleCountTotals} where ${articleCountTotals.tagId} = ${tagIdOf(filter.tag)})`;
  }
  if (keys.length === 1 && filter.followedBy !== undefined) {
    return sql<number>`(${followedAuthorsTotal(db, filter.followedBy)})`;
  }
  return sql<number>`(select count(*)::integer from ${articles} where ${filterCondition(filter)})`;
}

/**
 * One page of a list or feed, newest published first, each row with the filter's `total` (see
 * `totalOf`). `limit` may be an SQL chunk: Drizzle writes it into the text instead of binding it.
 *
 * Late row lookup: the page's ids are chosen first from the narrow rows of an index (`pageIds`),
 * then only those rows are read and joined with their authors. Choosing the rows with the wide
 * ones in hand makes a deep page (`offset`) read, join and sort every row it skips.
 */
export function pageQuery(
  db: Queryable,
  filter: FilterShape,
  limit: number | Placeholder | SQL,
  offset: number | Placeholder,
) {
  const page = pageIds(db, filter, limit, offset);
  return (
    db
      // `total` is evaluated once (an InitPlan), and only when the page has a row.
      .select({ ...summaryColumns, total: totalOf(db, filter) })
      .from(page)
      .innerJoin(articles, eq(articles.id, page.id))
      .innerJoin(users, eq(users.id, articles.authorId))
      // The order the ids came in (the subquery's), so nothing is sorted again.
      .orderBy(desc(page.publishedAt), desc(page.id))
  );
}

/**
 * The ids (and sort key) of one page, newest published first: only columns that the indexes hold
 * (`articles_published_at_idx`, which carries author_id and tag_list for the feed and `?tag=`;
 * `articles_author_published_at_idx` for an author), so skipping `offset` rows reads index
 * entries, not articles.
 */
function pageIds(
  db: Queryable,
  filter: FilterShape,
  limit: number | Placeholder | SQL,
  offset: number | Placeholder,
) {
  return (
    db
      .select({ id: articles.id, publishedAt: articles.publishedAt })
      .from(articles)
      .where(filterCondition(filter))
      // Publication order: a scheduled article shows up as the newest when it goes live.
      .orderBy(desc(articles.publishedAt), desc(articles.id))
      // Drizzle types the limit as a number or placeholder, and writes an SQL chunk as given.
      .limit(limit as number | Placeholder)
      .offset(offset)
      .as('page')
  );
}

/** How many articles the filter matches, counted row by row: what a page's `total` must equal. */
export function countQuery(db: Queryable, filter: FilterShape) {
  return db.select({ count: count() }).from(articles).where(filterCondition(filter));
}

/**
 * The total alone, for a page past the end (no row to carry it): no filter, `?tag=` alone and the
 * feed alone read the counters the database keeps (`article_count_totals`,
 * `author_article_counts`), the others count.
 */
export function totalAloneQuery(db: Queryable, filter: FilterShape) {
  const keys = FILTERS.filter((key) => filter[key] !== undefined);
  const counter = (tagId: number | SQL) =>
    db
      .select({ count: articleCountTotals.published })
      .from(articleCountTotals)
      .where(eq(articleCountTotals.tagId, tagId));
  if (keys.length === 0) return counter(ALL_ARTICLES_COUNTER);
  if (keys.length === 1 && filter.tag !== undefined) return counter(tagIdOf(filter.tag));
  if (keys.length === 1 && filter.followedBy !== undefined)
    return followedAuthorsTotal(db, filter.followedBy);
  return countQuery(db, filter);
}

/**
 * The viewer-specific flags of a set of articles and authors: the ids among `articleIds` the viewer
 * favorited and among `authorIds` they follow, in one statement (two index lookups on
 * favorites_pkey and follows_pkey).
 */
export function viewerFlagsQuery(
  db: Queryable,
  viewerId: number | Placeholder,
  articleIds: number[] | Placeholder,
  authorIds: number[] | Placeholder,
) {
  const favoritedIds = db
    .select({ kind: sql<'favorited' | 'following'>`'favorited'`.as('kind'), id: favorites.articleId })
    .from(favorites)
    .where(and(eq(favorites.userId, viewerId), sql`${favorites.articleId} = any(${articleIds})`));
  const followedIds = db
    .select({ kind: sql<'favorited' | 'following'>`'following'`.as('kind'), id: follows.followingId })
    .from(follows)
    .where(and(eq(follows.followerId, viewerId), sql`${follows.followingId} = any(${authorIds})`));
  return favoritedIds.unionAll(followedIds);
}

/**
 * One article with its body by `id` or `slug`, as a named statement (placeholders `key`, and
 * `viewerId` when `forViewer`): visible to that viewer, or to everyone.
 */
export function articleQuery(db: Queryable, by: 'id' | 'slug', forViewer: boolean) {
  return db
    .select({ ...summaryColumns, body: articles.body })
    .from(articles)
    .innerJoin(users, eq(users.id, articles.authorId))
    .where(
      and(
        eq(articles[by], sql.placeholder('key')),
        visibleTo(forViewer ? sql.placeholder('viewerId') : null),
      ),
    )
    .prepare(`article_by_${by}${forViewer ? '_for_viewer' : ''}`);
}

/**
 * The id of an article visible to the viewer (or to everyone), by slug, as a named statement;
 * `lock`: FOR KEY SHARE.
 */
export function visibleArticleIdQuery(db: Queryable, forViewer: boolean, lock: boolean) {
  const query = db
    .select({ id: articles.id })
    .from(articles)
    .where(
      and(
        eq(articles.slug, sql.placeholder('slug')),
        visibleTo(forViewer ? sql.placeholder('viewerId') : null),
      ),
    )
    .$dynamic();
  return (lock ? query.for('key share') : query).prepare(
    `article_id_by_slug${forViewer ? '_for_viewer' : ''}${lock ? '_key_share' : ''}`,
  );
}
