import { sql } from 'drizzle-orm';
import {
  type FilterShape,
  pageQuery,
  type Queryable,
  totalAloneQuery,
  viewerFlagsQuery,
} from './query-builders.js';
import { PAGE_LIMIT_MAX } from './schemas.js';

/**
 * The hot article statements of a fixed shape, prepared once per database handle: Drizzle builds
 * a query object and renders its SQL on every call otherwise, which costs more CPU than the
 * statement takes in PostgreSQL. Every other shape is built per call (queries.ts) from the same
 * builders (query-builders.ts), so both run the same SQL.
 *
 * Prepared: the lists of the busiest shapes (no filter, `?tag=`), each with its page and the total
 * alone for a page past the end; the first page of the unfiltered list per page size; the viewer
 * flags of every signed-in read. Not the feed: its best plan depends on how many authors the
 * viewer follows, and a prepared statement's generic plan assumes a few, which for a reader of
 * a thousand authors sorts all their articles' index entries; built per call, it is planned for
 * the viewer.
 */
export interface PreparedArticleStatements {
  list(shape: 'all' | 'tag'): ReturnType<typeof prepareList>;
  /** The first page of the unfiltered list at this size; undefined for a size `paging` refuses. */
  firstPage(limit: number): ReturnType<typeof prepareFirstPage> | undefined;
  viewerFlags: ReturnType<typeof prepareViewerFlags>;
}

const byHandle = new WeakMap<Queryable, PreparedArticleStatements>();

/** The statements of `db`, prepared on first use (a transaction handle gets its own, short-lived). */
export function preparedStatements(db: Queryable): PreparedArticleStatements {
  let statements = byHandle.get(db);
  if (!statements) {
    statements = prepareAll(db);
    byHandle.set(db, statements);
  }
  return statements;
}

function prepareAll(db: Queryable): PreparedArticleStatements {
  const lists = {
    all: prepareList(db, {}, 'articles_all'),
    tag: prepareList(db, { tag: sql.placeholder('tag') }, 'articles_tag'),
  };
  const firstPages = new Map<number, ReturnType<typeof prepareFirstPage>>();
  return {
    list: (shape) => lists[shape],
    firstPage: (limit) => {
      // At most PAGE_LIMIT_MAX statements: the sizes `paging` lets through.
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > PAGE_LIMIT_MAX) return undefined;
      let statement = firstPages.get(limit);
      if (!statement) {
        statement = prepareFirstPage(db, limit);
        firstPages.set(limit, statement);
      }
      return statement;
    },
    viewerFlags: prepareViewerFlags(db),
  };
}

function prepareList(db: Queryable, filter: FilterShape, name: string) {
  return {
    page: pageQuery(db, filter, sql.placeholder('limit'), sql.placeholder('offset')).prepare(`${name}_page`),
    totalAlone: totalAloneQuery(db, filter).prepare(`${name}_total`),
  };
}

/**
 * The first page of the unfiltered list, the request most readers make, with the page size written
 * into the text: PostgreSQL then keeps one plan per connection. With `LIMIT $1` its generic plan
 * assumes a tenth of the rows and never wins over a custom one, so every execution is planned
 * anew. Only here: a filter's best plan depends on its value (a rare tag, a prolific author), so
 * those keep being planned for the value they get.
 */
function prepareFirstPage(db: Queryable, limit: number) {
  // A validated integer (see `firstPage`), so writing it into the SQL is safe.
  return pageQuery(db, {}, sql.raw(String(limit)), 0).prepare(`articles_all_first_page_${limit}`);
}

function prepareViewerFlags(db: Queryable) {
  return viewerFlagsQuery(
    db,
    sql.placeholder('viewerId'),
    sql.placeholder('articleIds'),
    sql.placeholder('authorIds'),
  ).prepare('article_viewer_flags');
}
