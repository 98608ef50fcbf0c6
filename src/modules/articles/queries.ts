import { NotFoundError } from '../../errors.js';
import { type Profile, type ProfileView, presentProfile } from '../profiles/service.js';
import { preparedStatements } from './prepared.js';
import {
  type ArticleFilter,
  type ArticleRow,
  articleQuery,
  countQuery,
  FILTERS,
  pageQuery,
  type Queryable,
  totalAloneQuery,
  visibleArticleIdQuery,
  visibleTo,
} from './query-builders.js';

/**
 * The read side of articles. Every read returns a viewer-independent view (what a response cache
 * may share between viewers); `viewerFlags` then adds `favorited` and `author.following` for one
 * viewer with one small indexed query, and `presentArticle` shapes the JSON.
 */

export { type ArticleFilter, visibleTo };

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

/**
 * The page query of a list or feed, with each row's `total`, unexecuted (docs/QUERIES.md and a
 * test EXPLAIN it).
 */
export function articlePageQuery(db: Queryable, filter: ArticleFilter) {
  return pageQuery(db, filter, filter.limit, filter.offset);
}

/** The count query of a list or feed, unexecuted: what `total` must equal. */
export function articleCountQuery(db: Queryable, filter: ArticleFilter) {
  return countQuery(db, filter);
}

/**
 * One page of published articles, newest published first, and the total count: one statement
 * whatever the page size (author, tags and the total come in the same row; a page past the end
 * asks for the total alone). The same for every viewer. With no filter or `?tag=` alone the total
 * is a counter row, read by primary or unique key; the feed alone sums its followed authors'
 * counters.
 */
export async function listArticles(db: Queryable, filter: ArticleFilter): Promise<ArticlePage> {
  const given = FILTERS.filter((key) => filter[key] !== undefined);
  const shape = given.length === 0 ? 'all' : given.length === 1 ? given[0] : undefined;
  if (shape === 'all' || shape === 'tag') {
    const statements = preparedStatements(db);
    const { page, totalAlone } = statements.list(shape);
    const params = { ...filter };
    const firstPage = shape === 'all' && filter.offset === 0 ? statements.firstPage(filter.limit) : undefined;
    return pageOf(await (firstPage ?? page).execute(params), () => totalAlone.execute(params));
  }
  return pageOf(await articlePageQuery(db, filter), () => totalAloneQuery(db, filter));
}

/** The page's rows with their total; a page past the end has no row to carry it, so it counts. */
async function pageOf(
  rows: (ArticleRow & { total: number })[],
  totalAlone: () => Promise<{ count: number }[]>,
): Promise<ArticlePage> {
  const total = rows[0]?.total ?? (await totalAlone())[0]?.count;
  return { articles: rows.map(toView), articlesCount: total ?? 0 };
}

/**
 * Article reads run as named statements: most writes read their article back inside their
 * transaction, and PostgreSQL then parses and plans each shape once per connection instead of on
 * every request (planning costs it several times the execution).
 */
async function findOne(
  db: Queryable,
  by: 'id' | 'slug',
  key: number | string,
  viewerId: number | null,
): Promise<FullArticleView> {
  const [row] = await articleQuery(db, by, viewerId !== null).execute({ key, viewerId });
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
  const [article] = await visibleArticleIdQuery(db, viewerId !== null, lock).execute({ slug, viewerId });
  if (!article) throw new NotFoundError('Article');
  return article.id;
}

/** One article with its body; 404 when no visible article has this slug. */
export function getArticle(
  db: Queryable,
  slug: string,
  viewerId: number | null = null,
): Promise<FullArticleView> {
  return findOne(db, 'slug', slug, viewerId);
}

export function getArticleById(
  db: Queryable,
  id: number,
  viewerId: number | null = null,
): Promise<FullArticleView> {
  return findOne(db, 'id', id, viewerId);
}

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
  const rows = await preparedStatements(db).viewerFlags.execute({
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
