import { eq, type SQL, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { articles, articleTags, tags } from '../../../src/db/schema.js';
import { staleTagLists } from '../../db/support.js';
import { waitFor } from '../../jobs/support.js';
import { createTestApp, sqlRows, type TestApp, testDatabaseKind } from '../../support/app.js';
import { insertUser, type TestUser } from '../../support/users.js';
import { articleId, postArticle } from './support.js';

/**
 * `tagList` in responses is `articles.tag_list`, which triggers keep from article_tags
 * (migrations/0004_article_tag_list_triggers.sql): every path that changes links, through HTTP and
 * by SQL the services never run. Each check reads the single article and the list, and compares
 * every article's column with its links. The response cache is off: SQL by hand invalidates nothing.
 */

let t: TestApp;
let author: TestUser;

beforeAll(async () => {
  t = await createTestApp({ CACHE_ENABLED: 'false' });
  author = await insertUser(t);
});
afterAll(() => t?.close());

const rows = (query: SQL) => sqlRows(t.deps.database.db, query);

let serial = 0;
/** Tag names no other test uses, lower-case ASCII (alphabetical in every collation), as given. */
function tagNames<L extends string[]>(...labels: L): { [K in keyof L]: string } {
  serial += 1;
  const suffix = `${serial}-${Math.random().toString(36).slice(2, 6)}`;
  return labels.map((label) => `${label}-${suffix}`) as { [K in keyof L]: string };
}

async function update(slug: string, fields: { title?: string; tagList?: string[] }): Promise<string[]> {
  const res = await t.app.inject({
    method: 'PUT',
    url: `/api/articles/${encodeURIComponent(slug)}`,
    headers: author.headers,
    payload: { article: fields },
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().article.tagList;
}

/** The article's tagList as the API answers it, the same in the single read and in the list. */
async function tagListOf(slug: string): Promise<string[]> {
  const single = await t.app.inject({ method: 'GET', url: `/api/articles/${encodeURIComponent(slug)}` });
  expect(single.statusCode, single.body).toBe(200);
  const list = await t.app.inject({
    method: 'GET',
    url: `/api/articles?author=${encodeURIComponent(author.username)}&limit=100`,
  });
  expect(list.statusCode, list.body).toBe(200);
  const listed = list.json().articles.find((article: { slug: string }) => article.slug === slug);
  expect(listed?.tagList).toEqual(single.json().article.tagList);
  return single.json().article.tagList;
}

async function expectNoStaleTagList(): Promise<void> {
  expect(await rows(staleTagLists)).toEqual([]);
}

/** Tags inserted by hand, by name → id. */
async function insertTags(names: string[]): Promise<Record<string, number>> {
  const inserted = await t.deps.database.db
    .insert(tags)
    .values(names.map((name) => ({ name })))
    .returning({ id: tags.id, name: tags.name });
  return Object.fromEntries(inserted.map((tag) => [tag.name, tag.id]));
}

/** The row version of an article: unchanged when nothing wrote the row. */
async function rowVersion(slug: string): Promise<unknown> {
  const [row] = await rows(sql`select xmin::text as version from articles where slug = ${slug}`);
  return row?.version;
}

describe('tagList through the API', () => {
  it('is alphabetical on create, whatever the order sent', async () => {
    const [c, go, rust, zig] = tagNames('c', 'go', 'rust', 'zig');
    const article = await postArticle(t, author, { tagList: [zig, c, rust, go, ` ${c} `] });
    expect(article.tagList).toEqual([c, go, rust, zig]);
    expect(await tagListOf(article.slug)).toEqual([c, go, rust, zig]);
    await expectNoStaleTagList();
  });

  it('is in the database collation’s ORDER BY name, as before the column existed', async () => {
    // Mixed case and accents sort differently in C and in a linguistic collation: the database decides.
    const names = tagNames('b', 'B', 'a', 'A', 'é', 'e', 'Z');
    const article = await postArticle(t, author, { tagList: names });
    const ordered = await rows(sql`select name from tags where name in ${names} order by name`);
    expect(await tagListOf(article.slug)).toEqual(ordered.map((row) => row.name));
    await expectNoStaleTagList();
  });

  it('follows a PUT that adds, removes, reorders or clears tags', async () => {
    const [x, y, z] = tagNames('x', 'y', 'z');
    const { slug } = await postArticle(t, author, { tagList: [y, x] });
    expect(await update(slug, { tagList: [z, x] })).toEqual([x, z]);
    expect(await tagListOf(slug)).toEqual([x, z]);
    expect(await update(slug, { tagList: [x, z, y] })).toEqual([x, y, z]);
    expect(await update(slug, { tagList: [y] })).toEqual([y]);
    expect(await tagListOf(slug)).toEqual([y]);
    expect(await update(slug, { tagList: [] })).toEqual([]);
    expect(await tagListOf(slug)).toEqual([]);
    await expectNoStaleTagList();
  });

  it('stays through a PUT that keeps the tags: other fields only, or the same tags reordered', async () => {
    const [p, q] = tagNames('p', 'q');
    const { slug } = await postArticle(t, author, { tagList: [q, p] });
    expect(await update(slug, { title: `Renamed ${p}` })).toEqual([p, q]);
    const renamed = (await rows(sql`select slug from articles where title = ${`Renamed ${p}`}`))[0]
      ?.slug as string;
    expect(await tagListOf(renamed)).toEqual([p, q]);
    expect(await update(renamed, { tagList: [q, p] })).toEqual([p, q]);
    expect(await tagListOf(renamed)).toEqual([p, q]);
    await expectNoStaleTagList();
  });

  it('goes with a deleted article; the articles that shared its tags keep theirs', async () => {
    const [shared, own] = tagNames('shared', 'own');
    const gone = await postArticle(t, author, { tagList: [own, shared] });
    const kept = await postArticle(t, author, { tagList: [shared] });
    const res = await t.app.inject({
      method: 'DELETE',
      url: `/api/articles/${gone.slug}`,
      headers: author.headers,
    });
    expect(res.statusCode, res.body).toBe(204);
    expect(await tagListOf(kept.slug)).toEqual([shared]);
    await expectNoStaleTagList();
  });

  it('is read from the column, not from article_tags', async () => {
    const { slug } = await postArticle(t, author, { tagList: tagNames('real') });
    // Only a write of the column by hand (which nothing does) tells the two apart.
    const write = (tagList: string[]) =>
      t.deps.database.db.update(articles).set({ tagList }).where(eq(articles.slug, slug));
    const [real] = await tagListOf(slug);
    await write(['written-by-hand']);
    expect(await tagListOf(slug)).toEqual(['written-by-hand']);
    await write([real as string]);
  });
});

describe('tagList through SQL the services never run', () => {
  it('follows a multi-row INSERT of links for several articles in one statement', async () => {
    const [m, n, o] = tagNames('m', 'n', 'o');
    const first = await postArticle(t, author, { tagList: [n] });
    const second = await postArticle(t, author);
    const third = await postArticle(t, author, { tagList: [o] });
    await insertTags([m]);
    const links = [
      [first.slug, m],
      [first.slug, o],
      [second.slug, o],
      [second.slug, n],
      [second.slug, m],
      [third.slug, m],
    ].map(([slug, tag]) => sql`(${slug}, ${tag})`);
    await t.deps.database.db.execute(sql`insert into article_tags (article_id, tag_id)
      select a.id, t.id from (values ${sql.join(links, sql`, `)}) as link (slug, tag)
      join articles a on a.slug = link.slug join tags t on t.name = link.tag`);
    expect(await tagListOf(first.slug)).toEqual([m, n, o]);
    expect(await tagListOf(second.slug)).toEqual([m, n, o]);
    expect(await tagListOf(third.slug)).toEqual([m, o]);
    await expectNoStaleTagList();
  });

  it('follows a DELETE of some links of several articles', async () => {
    const [d, e, f] = tagNames('d', 'e', 'f');
    const first = await postArticle(t, author, { tagList: [d, e, f] });
    const second = await postArticle(t, author, { tagList: [e, f] });
    const untouched = await postArticle(t, author, { tagList: [d, e] });
    await t.deps.database.db.execute(sql`delete from article_tags
      where tag_id in (select id from tags where name in (${e}, ${f}))
        and article_id in (select id from articles where slug in (${first.slug}, ${second.slug}))`);
    expect(await tagListOf(first.slug)).toEqual([d]);
    expect(await tagListOf(second.slug)).toEqual([]);
    expect(await tagListOf(untouched.slug)).toEqual([d, e]);
    await expectNoStaleTagList();
  });

  it('follows an UPDATE of a link, to another tag or to another article', async () => {
    const [g, h, i] = tagNames('g', 'h', 'i');
    const first = await postArticle(t, author, { tagList: [g, h] });
    const second = await postArticle(t, author, { tagList: [g] });
    const [a, b] = await Promise.all([first, second].map((article) => articleId(t, article.slug)));
    const ids = await insertTags([i]);
    // h → i on the first article.
    await t.deps.database.db.execute(sql`update article_tags set tag_id = ${ids[i]}
      where article_id = ${a} and tag_id = (select id from tags where name = ${h})`);
    expect(await tagListOf(first.slug)).toEqual([g, i]);
    // The first article's i moves to the second: both lists change.
    await t.deps.database.db.execute(sql`update article_tags set article_id = ${b}
      where article_id = ${a} and tag_id = ${ids[i]}`);
    expect(await tagListOf(first.slug)).toEqual([g]);
    expect(await tagListOf(second.slug)).toEqual([g, i]);
    await expectNoStaleTagList();
  });

  it('writes no article whose list does not change', async () => {
    const [j, k] = tagNames('j', 'k');
    const { slug } = await postArticle(t, author, { tagList: [j, k] });
    const before = await rowVersion(slug);
    await t.deps.database.db.execute(sql`update article_tags set tag_id = tag_id
      where article_id = ${await articleId(t, slug)}`);
    await t.deps.database.db.execute(sql`insert into article_tags (article_id, tag_id)
      select article_id, tag_id from article_tags where article_id = ${await articleId(t, slug)}
      on conflict do nothing`);
    expect(await rowVersion(slug)).toBe(before);
    expect(await tagListOf(slug)).toEqual([j, k]);
  });

  it('follows a DELETE of a tag (ON DELETE CASCADE to its links)', async () => {
    const [doomed, stays] = tagNames('doomed', 'stays');
    const first = await postArticle(t, author, { tagList: [doomed, stays] });
    const second = await postArticle(t, author, { tagList: [doomed] });
    await t.deps.database.db.delete(tags).where(eq(tags.name, doomed));
    expect(await tagListOf(first.slug)).toEqual([stays]);
    expect(await tagListOf(second.slug)).toEqual([]);
    await expectNoStaleTagList();
  });

  it('follows a tag renamed by hand (the app never renames one)', async () => {
    const [before, middle, after] = tagNames('aa', 'mm', 'zz');
    const first = await postArticle(t, author, { tagList: [before, middle] });
    const second = await postArticle(t, author, { tagList: [before] });
    await t.deps.database.db.update(tags).set({ name: after }).where(eq(tags.name, before));
    expect(await tagListOf(first.slug)).toEqual([middle, after]);
    expect(await tagListOf(second.slug)).toEqual([after]);
    await expectNoStaleTagList();
  });

  it.runIf(testDatabaseKind === 'postgres')(
    'keeps both links when two transactions link tags to one article at once',
    async () => {
      const [first, second] = tagNames('first', 'second');
      const { slug } = await postArticle(t, author);
      const id = await articleId(t, slug);
      const ids = await insertTags([first, second]);
      const db = t.deps.database.db;
      let release = () => {};
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      let linked = () => {};
      const firstLinked = new Promise<void>((resolve) => {
        linked = resolve;
      });
      const one = db.transaction(async (tx) => {
        await tx.insert(articleTags).values({ articleId: id, tagId: ids[first] as number });
        linked();
        await held;
      });
      await firstLinked;
      // The second one's trigger waits for the first's row lock, then reads the links afresh.
      const two = db.transaction(async (tx) => {
        await tx.insert(articleTags).values({ articleId: id, tagId: ids[second] as number });
      });
      await waitFor('the second transaction to wait for the article row', async () => {
        const [waiting] = await rows(sql`select count(*)::integer as n from pg_stat_activity
          where datname = current_database() and wait_event_type = 'Lock'`);
        return (waiting?.n as number) > 0;
      });
      release();
      await Promise.all([one, two]);
      expect(await tagListOf(slug)).toEqual([first, second]);
      await expectNoStaleTagList();
    },
  );

  // Last: it empties every list of this file's database.
  it('empties every list on TRUNCATE article_tags', async () => {
    const [s] = tagNames('s');
    const { slug } = await postArticle(t, author, { tagList: [s] });
    const [tagged] = await rows(sql`select count(*)::integer as n from articles where tag_list <> '{}'`);
    expect(tagged?.n).toBeGreaterThan(5);
    await t.deps.database.db.execute(sql`truncate article_tags`);
    expect(await tagListOf(slug)).toEqual([]);
    expect(await rows(sql`select slug from articles where tag_list <> '{}'`)).toEqual([]);
    await expectNoStaleTagList();
  });
});
