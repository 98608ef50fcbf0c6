import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationsFolder } from '../../src/db/migrate.js';
import { migrationsUpTo, openEmptyDatabase, removeMigrationsCopy, type Scratch } from './support.js';

/**
 * A database that already has articles when the article counters arrive: the migration that
 * adds their triggers (0002) must also count what exists, scheduled articles left out, and the one
 * that shards them (0009) must carry the counts over.
 */

let scratch: Scratch;
let oldFolder: string;
let shardsFolder: string | undefined;

beforeAll(async () => {
  scratch = await openEmptyDatabase();
  oldFolder = migrationsUpTo('0000_initial_schema');
  await scratch.migrate(oldFolder);
  await scratch.execute(sql`insert into users (username, email, password_hash)
    values ('ann', 'ann@example.com', 'x'), ('bob', 'bob@example.com', 'x')`);
  await scratch.execute(sql`insert into tags (name) values ('red'), ('green'), ('unused')`);
  // Four published articles and two scheduled ones.
  await scratch.execute(sql`insert into articles (slug, title, description, body, author_id, published_at, publish_at)
    select 'a' || g, 'A', 'd', 'b', (select min(id) from users),
      case when g <= 4 then now() - g * interval '1 day' end,
      case when g > 4 then now() + interval '1 day' end
    from generate_series(1, 6) g`);
  // red: a1 a2 a3 and scheduled a5; green: a3 and scheduled a5, a6.
  await scratch.execute(sql`insert into article_tags (article_id, tag_id)
    select a.id, t.id from articles a, tags t
    where (t.name = 'red' and a.slug in ('a1', 'a2', 'a3', 'a5'))
       or (t.name = 'green' and a.slug in ('a3', 'a5', 'a6'))`);
}, 60_000);

afterAll(async () => {
  await scratch?.close();
  removeMigrationsCopy(oldFolder);
  removeMigrationsCopy(shardsFolder);
});

describe('the article counters migration', () => {
  it('counts the published articles that exist, in all and per tag', async () => {
    shardsFolder = migrationsUpTo('0008_article_count_shards');
    await scratch.migrate(shardsFolder);
    expect(await scratch.execute(sql`select id, published from article_counts`)).toEqual([
      { id: 1, published: 4 },
    ]);
    expect(await scratch.execute(sql`select name, articles_count from tags order by name`)).toEqual([
      { name: 'green', articles_count: 1 },
      { name: 'red', articles_count: 3 },
      { name: 'unused', articles_count: 0 },
    ]);
  });

  it('moves them to shards (0009), then keeps them: the triggers are in place', async () => {
    await scratch.migrate(migrationsFolder);
    const totals = sql`select coalesce(g.name, 'all') as name, c.published
      from article_count_totals c left join tags g on g.id = c.tag_id order by 1`;
    expect(await scratch.execute(totals)).toEqual([
      { name: 'all', published: 4 },
      { name: 'green', published: 1 },
      { name: 'red', published: 3 },
    ]);
    await scratch.execute(sql`update articles set published_at = now() where slug = 'a5'`);
    expect(await scratch.execute(totals)).toEqual([
      { name: 'all', published: 5 },
      { name: 'green', published: 2 },
      { name: 'red', published: 4 },
    ]);
    await scratch.execute(sql`delete from users where username = 'ann'`);
    expect(await scratch.execute(totals)).toEqual([
      { name: 'all', published: 0 },
      { name: 'green', published: 0 },
      { name: 'red', published: 0 },
    ]);
  });
});
