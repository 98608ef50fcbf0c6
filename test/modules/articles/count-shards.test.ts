import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Transaction } from '../../../src/db/client.js';
import { compactCountsJobType } from '../../../src/modules/articles/job-types.js';
import { waitFor } from '../../jobs/support.js';
import { createTestApp, sqlRows, type TestApp, testDatabaseKind } from '../../support/app.js';
import { insertUser, type TestUser } from '../../support/users.js';

/**
 * The article counters are sharded per database backend (migrations/0009_…): writers that share
 * a counter (every published article moves the total; articles sharing a tag move its count)
 * never wait for each other, and compaction never waits for a writer. Concurrency needs real
 * backends: PGlite is one connection, so the waiting cases run on PostgreSQL only.
 */

let t: TestApp;
let author: TestUser;
/** A second author: an author's own writes share their per-author counter row, and may wait. */
let otherAuthor: TestUser;
let serial = 0;

beforeAll(async () => {
  t = await createTestApp({ CACHE_ENABLED: 'false' });
  author = await insertUser(t);
  otherAuthor = await insertUser(t);
  await t.deps.database.db.execute(sql`insert into tags (name) values ('shared-tag')`);
});
afterAll(() => t?.close());

/** A published article tagged `shared-tag`, written as any writer would (the triggers count it). */
async function insertTaggedArticle(tx: Transaction, by: TestUser = author): Promise<void> {
  serial += 1;
  const [row] = await sqlRows<{ id: number }>(
    tx as never,
    sql`insert into articles (slug, title, description, body, author_id)
      values (${`shard-${serial}-${Math.random().toString(36).slice(2)}`}, 'T', 'd', 'b', ${by.id})
      returning id`,
  );
  await tx.execute(sql`insert into article_tags (article_id, tag_id)
    select ${row?.id}, id from tags where name = 'shared-tag'`);
}

/** The API's counts (all, shared-tag) against a real count of the rows. */
async function expectExact(): Promise<void> {
  const listed = async (query: string) => {
    const res = await t.app.inject({ method: 'GET', url: `/api/articles?limit=1${query}` });
    expect(res.statusCode, res.body).toBe(200);
    return res.json().articlesCount as number;
  };
  const [real] = await sqlRows<{ all: number; tagged: number }>(
    t.deps.database.db,
    sql`select (select count(*)::integer from articles where published_at is not null) as all,
      (select count(*)::integer from article_tags l join tags g on g.id = l.tag_id
        join articles a on a.id = l.article_id
        where g.name = 'shared-tag' and a.published_at is not null) as tagged`,
  );
  expect([await listed(''), await listed('&tag=shared-tag')]).toEqual([real?.all, real?.tagged]);
}

/** Runs `work` in a transaction that stays open until the returned `commit` is called. */
async function holdOpen(work: (tx: Transaction) => Promise<void>) {
  let commit = () => {};
  let ready = () => {};
  const isReady = new Promise<void>((resolve) => {
    ready = resolve;
  });
  const committed = t.deps.database.db.transaction(async (tx) => {
    await work(tx);
    ready();
    await new Promise<void>((resolve) => {
      commit = resolve;
    });
  });
  await isReady;
  return {
    commit: async () => {
      commit();
      await committed;
    },
  };
}

describe.skipIf(testDatabaseKind !== 'postgres')('article counters under concurrent writers', () => {
  it('a writer moving the same counters as an open transaction does not wait for it', async () => {
    const first = await holdOpen((tx) => insertTaggedArticle(tx, author));
    try {
      // Both move the total and the tag's count. With one row per counter this waited for
      // `first` to commit, and failed at the timeout.
      await t.deps.database.db.transaction(async (tx) => {
        await tx.execute(sql`set local lock_timeout = '2s'`);
        await insertTaggedArticle(tx, otherAuthor);
      });
    } finally {
      await first.commit();
    }
    await expectExact();
  });

  it('compaction skips the shard of an open transaction and never waits for it', async () => {
    const open = await holdOpen(insertTaggedArticle);
    try {
      await t.deps.database.db.transaction(async (tx) => {
        await tx.execute(sql`set local lock_timeout = '2s'`);
        await tx.execute(sql`select article_counts_compact()`);
      });
      const [held] = await sqlRows<{ n: number }>(
        t.deps.database.db,
        sql`select count(*)::integer as n from article_count_shards where shard <> 0`,
      );
      // The open transaction's shards (the total and the tag) are still its own.
      expect(held?.n).toBe(2);
    } finally {
      await open.commit();
    }
    await expectExact();
  });
});

describe('the articles.compact-counts job', () => {
  it('folds every idle shard into shard 0 and leaves every count as it was', async () => {
    await t.deps.database.db.transaction(insertTaggedArticle);
    await t.deps.database.db.execute(sql`insert into article_count_shards (tag_id, shard, published)
      values (0, -5, 3), (0, -6, -3)`);
    await expectExact();
    await t.deps.jobs.enqueue(compactCountsJobType, {});
    await waitFor('the compaction', async () => {
      const [left] = await sqlRows<{ n: number }>(
        t.deps.database.db,
        sql`select count(*)::integer as n from article_count_shards where shard <> 0`,
      );
      return left?.n === 0;
    });
    await expectExact();
  });
});
