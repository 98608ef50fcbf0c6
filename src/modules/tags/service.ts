import { count, desc, eq, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { articles, articleTags, tags } from '../../db/schema.js';
import { visibleTo } from '../articles/queries.js';

/** The tag cloud is bounded: the most used tags, not every tag ever written. */
export const POPULAR_TAGS_LIMIT = 100;

/**
 * Tags in use on visible articles, most used first, then by name. Tags of deleted articles are
 * left in `tags` (harmless, reused on the next mention) but no longer listed.
 */
export async function popularTags(db: Database): Promise<string[]> {
  const rows = await db
    .select({ name: tags.name })
    .from(articleTags)
    .innerJoin(tags, eq(tags.id, articleTags.tagId))
    .innerJoin(articles, eq(articles.id, articleTags.articleId))
    .where(visibleTo(null))
    .groupBy(tags.id, tags.name)
    .orderBy(desc(count()), sql`${tags.name}`)
    .limit(POPULAR_TAGS_LIMIT);
  return rows.map((row) => row.name);
}
