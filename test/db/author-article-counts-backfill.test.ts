import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationsFolder } from '../../src/db/migrate.js';
import { migrationsUpTo, openEmptyDatabase, removeMigrationsCopy, type Scratch } from './support.js';

/**
 * A database that already has articles when the per-author counters arrive: the migration that
 * adds their triggers (0012) must count each author's published articles that exist, scheduled
 * ones left out, and the triggers then keep them.
 */

let scratch: Scratch;
let oldFolder: string;

beforeAll(async () => {
  scratch = await openEmptyDatabase();
  oldFolder = migrationsUpTo('0010_articles_published_at_idx_covering');
  await scratch.migrate(oldFolder);
  await scratch.execute(sql`insert into users (username, email, password_hash)
    values ('ann', 'ann@example.com', 'x'), ('bob', 'bob@example.com', 'x'),
      ('cid', 'cid@example.com', 'x'), ('dee', 'dee@example.com', 'x')`);
  // ann: 3 published, 1 scheduled; bob: 2 published; cid: 1 scheduled; dee: none.
  await scratch.execute(sql`insert into articles (slug, title, description, body, author_id, published_at, publish_at)
    select 'a' || g, 'A', 'd', 'b', (select id from users where username = w.name),
      case when w.published then now() - g * interval '1 day' end,
      case when not w.published then now() + interval '1 day' end
    from (values (1, 'ann', true), (2, 'ann', true), (3, 'ann', true), (4, 'ann', false),
      (5, 'bob', true), (6, 'bob', true), (7, 'cid', false)) as w (g, name, published)`);
}, 60_000);

afterAll(async () => {
  await scratch?.close();
  removeMigrationsCopy(oldFolder);
});

const counters = sql`select u.username, c.published
  from author_article_counts c join users u on u.id = c.author_id order by 1`;

/** Each author's counter against a real count of their published articles. */
const drifted = sql`select u.username, c.published as stored, count(a.id)::integer as real
  from users u
  left join author_article_counts c on c.author_id = u.id
  left join articles a on a.author_id = u.id and a.published_at is not null
  group by u.username, c.published
  having coalesce(c.published, 0) <> count(a.id)`;

describe('the per-author article counters migration', () => {
  it('counts each author’s published articles that exist', async () => {
    await scratch.migrate(migrationsFolder);
    expect(await scratch.execute(counters)).toEqual([
      { username: 'ann', published: 3 },
      { username: 'bob', published: 2 },
    ]);
  });

  it('then keeps them: publish, insert, move, delete, user deletion, truncate', async () => {
    await scratch.execute(sql`update articles set published_at = now() where slug in ('a4', 'a7')`);
    await scratch.execute(sql`insert into articles (slug, title, description, body, author_id)
      select 'n' || g, 'N', 'd', 'b', (select id from users where username = 'bob') from generate_series(1, 3) g`);
    expect(await scratch.execute(counters)).toEqual([
      { username: 'ann', published: 4 },
      { username: 'bob', published: 5 },
      { username: 'cid', published: 1 },
    ]);
    await scratch.execute(sql`update articles set author_id = (select id from users where username = 'cid')
      where slug in ('a1', 'n1')`);
    await scratch.execute(sql`update articles set published_at = null where slug = 'a2'`);
    await scratch.execute(sql`delete from articles where slug in ('a3', 'n2')`);
    expect(await scratch.execute(counters)).toEqual([
      { username: 'ann', published: 1 },
      { username: 'bob', published: 3 },
      { username: 'cid', published: 3 },
    ]);
    expect(await scratch.execute(drifted)).toEqual([]);
    await scratch.execute(sql`delete from users where username = 'bob'`);
    expect(await scratch.execute(counters)).toEqual([
      { username: 'ann', published: 1 },
      { username: 'cid', published: 3 },
    ]);
    expect(await scratch.execute(drifted)).toEqual([]);
    await scratch.execute(sql`truncate articles cascade`);
    expect(await scratch.execute(counters)).toEqual([]);
  });
});
