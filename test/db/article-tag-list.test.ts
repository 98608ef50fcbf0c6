import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationsFolder } from '../../src/db/migrate.js';
import {
  migrationsUpTo,
  openEmptyDatabase,
  removeMigrationsCopy,
  type Scratch,
  staleTagLists,
} from './support.js';

/**
 * A database that already has tagged articles when `articles.tag_list` arrives: the migration that
 * adds its triggers (0004) must also fill it for what exists. What keeps it afterwards is tested
 * through the API and by hand in test/modules/articles/tag-list.test.ts.
 */

let scratch: Scratch;
let oldFolder: string;

beforeAll(async () => {
  scratch = await openEmptyDatabase();
  oldFolder = migrationsUpTo('0002_article_counts_triggers');
  await scratch.migrate(oldFolder);
  await scratch.execute(sql`insert into users (username, email, password_hash)
    values ('ann', 'ann@example.com', 'x')`);
  await scratch.execute(sql`insert into tags (name) values ('rust'), ('go'), ('zig'), ('c'), ('unused')`);
  // a1 and a2 published, a3 scheduled, a4 without tags.
  await scratch.execute(sql`insert into articles (slug, title, description, body, author_id, published_at, publish_at)
    select 'a' || g, 'A', 'd', 'b', (select min(id) from users),
      case when g <> 3 then now() - g * interval '1 day' end,
      case when g = 3 then now() + interval '1 day' end
    from generate_series(1, 4) g`);
  // Linked in an order that is not the alphabetical one.
  await scratch.execute(sql`insert into article_tags (article_id, tag_id)
    select a.id, t.id from (values ('a1', 'zig'), ('a1', 'c'), ('a1', 'rust'), ('a2', 'go'),
      ('a3', 'rust'), ('a3', 'go')) as link(slug, tag)
    join articles a on a.slug = link.slug join tags t on t.name = link.tag`);
  await scratch.migrate(migrationsFolder);
}, 60_000);

afterAll(async () => {
  await scratch?.close();
  removeMigrationsCopy(oldFolder);
});

describe('the article tag_list migration', () => {
  it('fills tag_list of the articles that exist, alphabetically, scheduled ones included', async () => {
    expect(await scratch.execute(sql`select slug, tag_list from articles order by slug`)).toEqual([
      { slug: 'a1', tag_list: ['c', 'rust', 'zig'] },
      { slug: 'a2', tag_list: ['go'] },
      { slug: 'a3', tag_list: ['go', 'rust'] },
      { slug: 'a4', tag_list: [] },
    ]);
    expect(await scratch.execute(staleTagLists)).toEqual([]);
  });

  it('fires the tag_list triggers before the counter triggers of the same event (lock order)', async () => {
    // PostgreSQL fires the triggers of one event in name order; see the migration's comment.
    const triggers = await scratch.execute(sql`select tgname as name,
        (tgtype & 4 <> 0) as "insert", (tgtype & 8 <> 0) as "delete",
        (tgtype & 16 <> 0) as "update", (tgtype & 32 <> 0) as "truncate"
      from pg_trigger where tgrelid = 'article_tags'::regclass and not tgisinternal
      order by tgname collate "C"`);
    for (const event of ['insert', 'delete', 'update', 'truncate']) {
      const names = triggers.filter((trigger) => trigger[event]).map((trigger) => String(trigger.name));
      expect(names, event).toEqual([
        expect.stringMatching(/^article_tags_articles_tag_list_/),
        expect.stringMatching(/^article_tags_count_/),
      ]);
    }
  });

  it('then keeps it: the triggers are in place', async () => {
    await scratch.execute(sql`insert into article_tags (article_id, tag_id)
      select a.id, t.id from articles a, tags t where a.slug in ('a2', 'a4') and t.name = 'c'`);
    await scratch.execute(sql`delete from tags where name = 'rust'`);
    expect(await scratch.execute(sql`select slug, tag_list from articles order by slug`)).toEqual([
      { slug: 'a1', tag_list: ['c', 'zig'] },
      { slug: 'a2', tag_list: ['c', 'go'] },
      { slug: 'a3', tag_list: ['go'] },
      { slug: 'a4', tag_list: ['c'] },
    ]);
    expect(await scratch.execute(staleTagLists)).toEqual([]);
  });
});
