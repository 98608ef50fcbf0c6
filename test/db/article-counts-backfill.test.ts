import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationsFolder } from '../../src/db/migrate.js';
import { migrationsUpTo, openEmptyDatabase, removeMigrationsCopy, type Scratch } from './support.js';

/**
 * A database that already has articles when the article counters arrive: the migration that
 * adds their triggers (0002) must also count what exists, scheduled articles left out.
 */

let scratch: Scratch;
let oldFolder: string;

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
});

describe('the article counters migration', () => {
  it('counts the published articles that exist, in all and per tag', async () => {
    await scratch.migrate(migrationsFolder);
    expect(await scratch.execute(sql`select id, published from article_counts`)).toEqual([
      { id: 1, published: 4 },
    ]);
    expect(await scratch.execute(sql`select name, articles_count from tags order by name`)).toEqual([
      { name: 'green', articles_count: 1 },
      { name: 'red', articles_count: 3 },
      { name: 'unused', articles_count: 0 },
    ]);
  });

  it('then keeps them: the triggers are in place', async () => {
    await scratch.execute(sql`update articles set published_at = now() where slug = 'a5'`);
    expect(await scratch.execute(sql`select published from article_counts`)).toEqual([{ published: 5 }]);
    expect(await scratch.execute(sql`select name, articles_count from tags order by name`)).toEqual([
      { name: 'green', articles_count: 2 },
      { name: 'red', articles_count: 4 },
      { name: 'unused', articles_count: 0 },
    ]);
    await scratch.execute(sql`delete from users where username = 'ann'`);
    expect(await scratch.execute(sql`select published from article_counts`)).toEqual([{ published: 0 }]);
    expect(await scratch.execute(sql`select sum(articles_count)::integer as n from tags`)).toEqual([
      { n: 0 },
    ]);
  });
});
