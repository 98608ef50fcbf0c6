import { and, eq, inArray, notInArray, sql } from 'drizzle-orm';
import type { Transaction } from '../../db/client.js';
import { articleTags, tags } from '../../db/schema.js';

/** The tag side of an article write: names normalised, tags found or created, links set. */

/** Tags are trimmed, blank ones dropped, duplicates removed; stored order is irrelevant (reads sort). */
export function normalizeTags(tagList: readonly string[]): string[] {
  return [...new Set(tagList.map((tag) => tag.trim()).filter((tag) => tag !== ''))];
}

/**
 * The ids of the tags named `names`, creating the missing ones. Existing tags are only read, so
 * writers sharing a tag never wait for each other. Missing tags are inserted with ON CONFLICT DO
 * NOTHING (a concurrent create of the same new tag waits for the other transaction instead of
 * failing), in sorted order so two transactions never wait for each other's new names in
 * opposite orders.
 */
export async function resolveTags(tx: Transaction, names: readonly string[]): Promise<number[]> {
  if (names.length === 0) return [];
  // Named, with one array parameter: one statement text whatever the number of tags, planned once
  // per connection.
  const found = await tx
    .select({ id: tags.id, name: tags.name })
    .from(tags)
    .where(sql`${tags.name} = any(${sql.placeholder('names')})`)
    .prepare('tags_by_names')
    .execute({ names: [...names] });
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
export async function setArticleTags(
  tx: Transaction,
  articleId: number,
  tagIds: readonly number[],
): Promise<void> {
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

export async function linkTags(tx: Transaction, articleId: number, tagIds: readonly number[]): Promise<void> {
  if (tagIds.length === 0) return;
  await tx
    .insert(articleTags)
    .values(tagIds.map((tagId) => ({ articleId, tagId })))
    .onConflictDoNothing();
}
