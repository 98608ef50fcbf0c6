import { and, count, desc, eq, isNotNull, or, type Placeholder, type SQL, sql } from 'drizzle-orm';
import type { Queryable } from '../../db/client.js';
import { articleCounts, articles, favorites, follows, tags, users } from '../../db/schema.js';
import { NotFoundError } from '../../errors.js';
import {
  type Profile,
  type ProfileView,
  presentProfile,
  profileColumns,
  usernameIs,
} from '../profiles/service.js';
import { PAGE_LIMIT_MAX } from './schemas.js';

/**
 * The read side of articles. Every read returns a viewer-independent view (what a response cache
 * may share between viewers); `viewerFlags` then adds `favorited` and `author.following` for one
 * viewer with one small indexed query, and `presentArticle` shapes the JSON.
 */

export interface ArticleView {
  id: number;
  slug: string;
  title: string;
  description: string;
  /** Absent in list items (spec v1.1.0 MultipleArticlesResponse has no body). */
  body?: string;
  /** Alphabetical. */
  tagList: string[];
  /** ISO 8601, so a view is plain JSON (cacheable as is). */
  createdAt: string;
  updatedAt: string;
  /** Requested publication time (ISO 8601), null when published on creation. */
  publishAt: string | null;
  /** When it became visible to everyone; null while scheduled (only its author sees it). */
  publishedAt: string | null;
  favoritesCount: number;
  author: ProfileView;
}

/** A single article's view: always with its body. */
export type FullArticleView = ArticleView & { body: string };

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

export interface ArticlePage {
  articles: ArticleView[];
  /** How many articles match the filter in total, not the page size. */
  articlesCount: number;
}

export interface ViewerFlags {
  favorited: ReadonlySet<number>;
  following: ReadonlySet<number>;
}

/** The API shape: the shared view plus what depends on the viewer. */
export type Article = Omit<ArticleView, 'id' | 'author'> & { favorited: boolean; author: Profile };

/**
 * THE predicate "which articles may this viewer see", used by every read and write that looks an
 * article up: published articles, plus the viewer's own scheduled ones (`published_at` null until
 * the publish job or the due sweep sets it). Lists, feeds, counts and tags use `visibleTo(null)`
 * whoever asks: a scheduled article is absent from all of them, its author's included, so a list
 * is the same for every viewer and the shared response cache stays correct.
 */
export function visibleTo(viewerId: number | null): SQL | undefined {
  const published = isNotNull(articles.publishedAt);
  return viewerId === null ? published : or(published, eq(articles.authorId, viewerId));
}

const summaryColumns = {
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

interface ArticleRow {
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

function toView(row: ArticleRow): ArticleView {
  return {
    id: row.id,
    slug: row.slug,
    title: row.title,
    description: row.description,
    ...(row.body === undefined ? {} : { body: row.body }),
    tagList: row.tagList,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    publishAt: row.publishAt?.toISOString() ?? null,
    publishedAt: row.publishedAt?.toISOString() ?? null,
    favoritesCount: row.favoritesCount,
    author: row.author,
  };
}

/** A filter as values, or as placeholders of a prepared statement (`sql.placeholder`). */
type FilterShape = {
  [K in 'tag' | 'author' | 'favorited' | 'followedBy']?: ArticleFilter[K] | Placeholder;
};

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

const FILTERS = ['tag', 'author', 'favorited', 'followedBy'] as const;

/**
 * How many articles the filter matches, as a scalar subquery of the page statement: one round trip
 * for the page and its total. No filter or `?tag=` alone read the counter the triggers keep
 * (migrations/0002_…); the others count the matching rows.
 */
function totalOf(filter: FilterShape): SQL<number> {
  const keys = FILTERS.filter((key) => filter[key] !== undefined);
  if (keys.length === 0) {
    // The row id is bound, not written: it is the one parameter of the first-page statements
    // (`prepareFirstPages`), which a driver may otherwise send through the simple protocol,
    // planned on every execution.
    const row = 1;
    return sql<number>`(select ${articleCounts.published} from ${articleCounts} where ${articleCounts.id} = ${row})`;
  }
  if (keys.length === 1 && filter.tag !== undefined) {
    return sql<number>`(select ${tags.articlesCount} from ${tags} where ${tags.name} = ${filter.tag})`;
  }
  return sql<number>`(select count(*)::integer from ${articles} where ${filterCondition(filter)})`;
}

function pageQuery(
  db: Queryable,
  filter: FilterShape,
  limit: number | Placeholder,
  offset: number | Placeholder,
) {
  return (
    db
      // `total` is evaluated once (an InitPlan), and only when the page has a row.
      .select({ ...summaryColumns, total: totalOf(filter) })
      .from(articles)
      .innerJoin(users, eq(users.id, articles.authorId))
      .where(filterCondition(filter))
      // Publication order: a scheduled article shows up as the newest when it goes live.
      .orderBy(desc(articles.publishedAt), desc(articles.id))
      .limit(limit)
      .offset(offset)
  );
}

function countQuery(db: Queryable, filter: FilterShape) {
  return db.select({ count: count() }).from(articles).where(filterCondition(filter));
}

/**
 * The page query of a list or feed, with each row's `total` (see `totalOf`), unexecuted
 * (docs/QUERIES.md and a test EXPLAIN it). Lists of one filter or none run the same SQL as a
 * prepared statement (`listArticles`).
 */
export function articlePageQuery(db: Queryable, filter: ArticleFilter) {
  return pageQuery(db, filter, filter.limit, filter.offset);
}

/**
 * The count query of a list or feed, unexecuted: what `total` must equal. A list runs it only for
 * a page past the end (no row to carry `total`), and the unfiltered list and `?tag=` alone not even
 * then: they read the counters the database keeps (`article_counts`, `tags.articles_count`).
 */
export function articleCountQuery(db: Queryable, filter: ArticleFilter) {
  return countQuery(db, filter);
}

/**
 * The lists of a fixed shape (no filter or one), prepared once per database handle: Drizzle
 * builds a query object and its SQL on every call otherwise, which costs more than the round trip
 * (docs/PERFORMANCE.md). Each has its page (with `total`) and the count for a page past the end.
 * The unfiltered list and the tag list count nothing: they read the counters that triggers keep
 * in the transaction of every change (migrations/0002_…).
 */
function prepareLists(db: Queryable) {
  const limit = sql.placeholder('limit');
  const offset = sql.placeholder('offset');
  const tag = sql.placeholder('tag');
  const author = sql.placeholder('author');
  const favorited = sql.placeholder('favorited');
  const followedBy = sql.placeholder('followedBy');
  return {
    all: {
      page: pageQuery(db, {}, limit, offset).prepare('articles_all_page'),
      count: db
        .select({ count: articleCounts.published })
        .from(articleCounts)
        .where(eq(articleCounts.id, 1))
        .prepare('articles_all_count'),
    },
    tag: {
      page: pageQuery(db, { tag }, limit, offset).prepare('articles_tag_page'),
      count: db
        .select({ count: tags.articlesCount })
        .from(tags)
        .where(eq(tags.name, tag))
        .prepare('articles_tag_count'),
    },
    author: {
      page: pageQuery(db, { author }, limit, offset).prepare('articles_author_page'),
      count: countQuery(db, { author }).prepare('articles_author_count'),
    },
    favorited: {
      page: pageQuery(db, { favorited }, limit, offset).prepare('articles_favorited_page'),
      count: countQuery(db, { favorited }).prepare('articles_favorited_count'),
    },
    followedBy: {
      page: pageQuery(db, { followedBy }, limit, offset).prepare('articles_feed_page'),
      count: countQuery(db, { followedBy }).prepare('articles_feed_count'),
    },
  };
}

/** What `map` holds for `key`, made by `create` the first time it is asked for. */
function getOrCreate<K, V>(
  map: { get(key: K): V | undefined; set(key: K, value: V): unknown },
  key: K,
  create: (key: K) => V,
): V {
  let value = map.get(key);
  if (value === undefined) {
    value = create(key);
    map.set(key, value);
  }
  return value;
}

/** `prepare(db)` once per database handle (a transaction handle gets its own, short-lived). */
function oncePerHandle<T>(prepare: (db: Queryable) => T): (db: Queryable) => T {
  const prepared = new WeakMap<Queryable, T>();
  return (db) => getOrCreate(prepared, db, prepare);
}

const listsOf = oncePerHandle(prepareLists);

/**
 * The first page of the unfiltered list, the request most readers make, as one statement per page
 * size with the limit written in, so PostgreSQL plans it once per connection and reuses the plan
 * (its only parameter, the counter row's id, changes nothing in it). With `LIMIT $1 OFFSET $2` it
 * plans every execution anew: its generic plan assumes a parameter LIMIT wants 10 % of the rows
 * and never looks cheaper than a custom one. Planning was most of the query's cost (one
 * connection, sequential: 375–453 µs a round trip planned each time, 225 µs with the plan kept;
 * docs/PERFORMANCE.md). Only here: a filter's plan depends on its value (a rare tag, a prolific
 * author), so those keep being planned for the value they get.
 */
function prepareFirstPages(db: Queryable) {
  const byLimit = new Map<number, ReturnType<typeof prepareFirstPage>>();
  function prepareFirstPage(limit: number) {
    // A validated integer written into the SQL text: Drizzle embeds an SQL chunk given as the
    // limit instead of binding it (offset 0 writes no OFFSET).
    const literalLimit = sql.raw(String(limit)) as unknown as Placeholder;
    return pageQuery(db, {}, literalLimit, 0).prepare(`articles_all_first_page_${limit}`);
  }
  // At most PAGE_LIMIT_MAX statements: the sizes `paging` lets through.
  return (limit: number) =>
    Number.isSafeInteger(limit) && limit >= 1 && limit <= PAGE_LIMIT_MAX
      ? getOrCreate(byLimit, limit, prepareFirstPage)
      : undefined;
}

const firstPagesOf = oncePerHandle(prepareFirstPages);

/**
 * One page of published articles, newest published first, and the total count: one statement
 * whatever the page size (author, tags and the total come in the same row; a page past the end
 * asks for the count alone). The same for every viewer. With no filter or `?tag=` alone the total
 * is a counter row, read by primary or unique key.
 */
export async function listArticles(db: Queryable, filter: ArticleFilter): Promise<ArticlePage> {
  const given = FILTERS.filter((key) => filter[key] !== undefined);
  const [key] = given;
  if (given.length > 1) {
    // Combined filters: rare, and the shape varies, so built per call.
    return pageOf(await articlePageQuery(db, filter), () => articleCountQuery(db, filter));
  }
  const lists = listsOf(db);
  const { page, count } = key === undefined ? lists.all : lists[key];
  const params = { limit: filter.limit, offset: filter.offset, ...(key && { [key]: filter[key] }) };
  const firstPage = key === undefined && filter.offset === 0 ? firstPagesOf(db)(filter.limit) : undefined;
  return pageOf(await (firstPage ?? page).execute(params), () => count.execute(params));
}

/** The page's rows with their total; a page past the end has no row to carry it, so it counts. */
async function pageOf(
  rows: (ArticleRow & { total: number })[],
  countAlone: () => Promise<{ count: number }[]>,
): Promise<ArticlePage> {
  const total = rows[0]?.total ?? (await countAlone())[0]?.count;
  return { articles: rows.map(toView), articlesCount: total ?? 0 };
}

async function findOne(db: Queryable, condition: SQL, viewerId: number | null): Promise<FullArticleView> {
  const [row] = await db
    .select({ ...summaryColumns, body: articles.body })
    .from(articles)
    .innerJoin(users, eq(users.id, articles.authorId))
    .where(and(condition, visibleTo(viewerId)));
  if (!row) throw new NotFoundError('Article');
  return { ...toView(row), body: row.body };
}

/**
 * The id of the visible article with this slug (for its comments, favorites…); 404 otherwise.
 * `lock` (inside a transaction that adds a comment or favorite) holds FOR KEY SHARE until commit, so
 * a concurrent delete of the article waits instead of failing the insert on its foreign key.
 */
export async function findVisibleArticleId(
  db: Queryable,
  slug: string,
  viewerId: number | null,
  { lock = false }: { lock?: boolean } = {},
): Promise<number> {
  const query = db
    .select({ id: articles.id })
    .from(articles)
    .where(and(eq(articles.slug, slug), visibleTo(viewerId)))
    .$dynamic();
  const [article] = await (lock ? query.for('key share') : query);
  if (!article) throw new NotFoundError('Article');
  return article.id;
}

/** One article with its body; 404 when no visible article has this slug. */
export function getArticle(
  db: Queryable,
  slug: string,
  viewerId: number | null = null,
): Promise<FullArticleView> {
  return findOne(db, eq(articles.slug, slug), viewerId);
}

export function getArticleById(
  db: Queryable,
  id: number,
  viewerId: number | null = null,
): Promise<FullArticleView> {
  return findOne(db, eq(articles.id, id), viewerId);
}

/**
 * The flags query, prepared once per database handle (like the lists): it runs for every
 * signed-in read whose personalised body is not kept yet, and Drizzle's per-call building of a
 * UNION with two IN lists cost more than the query.
 */
function prepareViewerFlags(db: Queryable) {
  const favoritedIds = db
    .select({ kind: sql<string>`'favorited'`.as('kind'), id: favorites.articleId })
    .from(favorites)
    .where(
      and(
        eq(favorites.userId, sql.placeholder('viewerId')),
        sql`${favorites.articleId} = any(${sql.placeholder('articleIds')})`,
      ),
    );
  const followedIds = db
    .select({ kind: sql<string>`'following'`.as('kind'), id: follows.followingId })
    .from(follows)
    .where(
      and(
        eq(follows.followerId, sql.placeholder('viewerId')),
        sql`${follows.followingId} = any(${sql.placeholder('authorIds')})`,
      ),
    );
  return favoritedIds.unionAll(followedIds).prepare('article_viewer_flags');
}

const viewerFlagsQueryOf = oncePerHandle(prepareViewerFlags);

/**
 * The viewer-specific flags for a set of articles and authors: one query (two index lookups on
 * favorites_pkey and follows_pkey) whatever the number of ids; none when anonymous.
 */
export async function viewerFlags(
  db: Queryable,
  viewerId: number | null,
  articleIds: readonly number[],
  authorIds: readonly number[],
): Promise<ViewerFlags> {
  const favorited = new Set<number>();
  const following = new Set<number>();
  if (viewerId === null || (articleIds.length === 0 && authorIds.length === 0)) {
    return { favorited, following };
  }
  const rows = await viewerFlagsQueryOf(db).execute({
    viewerId,
    articleIds: [...articleIds],
    authorIds: [...authorIds],
  });
  for (const row of rows) (row.kind === 'favorited' ? favorited : following).add(row.id);
  return { favorited, following };
}

/** Flags for the views of one page or article. */
export function viewerFlagsFor(
  db: Queryable,
  viewerId: number | null,
  views: readonly ArticleView[],
): Promise<ViewerFlags> {
  return viewerFlags(
    db,
    viewerId,
    views.map((view) => view.id),
    views.map((view) => view.author.id),
  );
}

export function presentArticle(
  view: FullArticleView,
  flags: ViewerFlags,
  defaultImage: string,
): Article & { body: string };
export function presentArticle(view: ArticleView, flags: ViewerFlags, defaultImage: string): Article;
export function presentArticle(view: ArticleView, flags: ViewerFlags, defaultImage: string): Article {
  return {
    slug: view.slug,
    title: view.title,
    description: view.description,
    ...(view.body === undefined ? {} : { body: view.body }),
    tagList: view.tagList,
    createdAt: view.createdAt,
    updatedAt: view.updatedAt,
    publishAt: view.publishAt,
    publishedAt: view.publishedAt,
    favorited: flags.favorited.has(view.id),
    favoritesCount: view.favoritesCount,
    author: presentProfile(view.author, flags.following.has(view.author.id), defaultImage),
  };
}
