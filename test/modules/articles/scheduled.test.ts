import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { articles, jobOutbox } from '../../../src/db/schema.js';
import { publishArticleJobType, publishDueArticlesJobType } from '../../../src/modules/articles/job-types.js';
import { settledRow, waitFor } from '../../jobs/support.js';
import { createTestApp, type TestApp } from '../../support/app.js';
import { insertUser, type TestUser } from '../../support/users.js';
import { type ArticleJson, articleId, postArticle } from './support.js';

/**
 * Scheduled publishing through HTTP and the real job runner (embedded mode: the in-process queue
 * runs the same handlers as the BullMQ workers; test/worker/scheduled-publishing.test.ts runs a
 * real worker process on Redis).
 */

let t: TestApp;
let author: TestUser;
let reader: TestUser;

beforeAll(async () => {
  t = await createTestApp();
  author = await insertUser(t);
  reader = await insertUser(t);
  const follow = await t.app.inject({
    method: 'POST',
    url: `/api/profiles/${author.username}/follow`,
    headers: reader.headers,
  });
  expect(follow.statusCode).toBe(200);
});
afterAll(() => t?.close());

/** Creates an article as the author (scheduled when `publishAt` is given). */
const create = (fields: { publishAt?: string; tagList?: string[] } = {}) => postArticle(t, author, fields);

function inMs(ms: number): string {
  return new Date(Date.now() + ms).toISOString();
}

async function get(slug: string, viewer?: TestUser) {
  return t.app.inject({ method: 'GET', url: `/api/articles/${slug}`, headers: viewer?.headers ?? {} });
}

async function listSlugs(query: string, viewer?: TestUser): Promise<string[]> {
  const res = await t.app.inject({
    method: 'GET',
    url: `/api/articles${query}`,
    headers: viewer?.headers ?? {},
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().articles.map((article: { slug: string }) => article.slug);
}

async function popularTags(): Promise<string[]> {
  const res = await t.app.inject({ method: 'GET', url: '/api/tags' });
  expect(res.statusCode).toBe(200);
  return res.json().tags;
}

/** Outbox rows of one job for one article (the payload is `{ articleId }` for both jobs here). */
function outboxRows(name: string, id: number) {
  return t.deps.database.db
    .select()
    .from(jobOutbox)
    .where(and(eq(jobOutbox.name, name), sql`${jobOutbox.payload} ->> 'articleId' = ${String(id)}`));
}

/** Polls (no fixed sleep) until everyone can read the article. */
function publishedToEveryone(slug: string, timeoutMs = 15_000) {
  return waitFor(
    `${slug} to be published`,
    async () => {
      const res = await get(slug);
      return res.statusCode === 200 ? (res.json().article as ArticleJson) : undefined;
    },
    timeoutMs,
  );
}

describe('an article scheduled in the future', () => {
  it('is its author’s alone until its time, then the delayed job publishes it', async () => {
    const tag = `sched${Math.random().toString(36).slice(2, 8)}`;
    const publishAt = inMs(4000);
    // Warm the shared caches first: the publish must invalidate them, not wait for a TTL.
    await listSlugs('');
    await popularTags();
    const created = await create({ publishAt, tagList: [tag] });
    expect(created.publishAt).toBe(publishAt);
    expect(created.publishedAt).toBeNull();

    expect((await get(created.slug)).statusCode).toBe(404);
    expect((await get(created.slug, reader)).statusCode).toBe(404);
    const own = await get(created.slug, author);
    expect(own.statusCode).toBe(200);
    expect(own.json().article).toMatchObject({ slug: created.slug, publishedAt: null, publishAt });
    // Never from (or into) the shared cache: the author's read goes to the database.
    expect(own.headers['x-cache']).toBe('BYPASS');

    // Absent from every list and feed, the author's own included, and from the tag cloud.
    for (const viewer of [undefined, author, reader]) {
      expect(await listSlugs('', viewer)).not.toContain(created.slug);
      expect(await listSlugs(`?author=${author.username}`, viewer)).not.toContain(created.slug);
      expect(await listSlugs(`?tag=${tag}`, viewer)).toEqual([]);
    }
    const feed = await t.app.inject({ method: 'GET', url: '/api/articles/feed', headers: reader.headers });
    expect(feed.json().articles.map((a: { slug: string }) => a.slug)).not.toContain(created.slug);
    expect(await popularTags()).not.toContain(tag);
    // Nothing else reaches it either: comments and favorites answer 404 to others.
    for (const url of [`/api/articles/${created.slug}/comments`, `/api/articles/${created.slug}/favorite`]) {
      const method = url.endsWith('favorite') ? 'POST' : 'GET';
      expect((await t.app.inject({ method, url, headers: reader.headers })).statusCode).toBe(404);
    }

    const published = await publishedToEveryone(created.slug);
    expect(Date.parse(published.publishedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(publishAt));
    expect(published.publishAt).toBe(publishAt);
    // Right after: every cached list shows it, newest first, and its tag is listed.
    expect((await listSlugs(''))[0]).toBe(created.slug);
    expect(await listSlugs(`?tag=${tag}`, reader)).toEqual([created.slug]);
    const feedAfter = await t.app.inject({
      method: 'GET',
      url: '/api/articles/feed',
      headers: reader.headers,
    });
    expect(feedAfter.json().articles[0].slug).toBe(created.slug);
    expect(await popularTags()).toContain(tag);

    const id = await articleId(t, created.slug);
    const [publishJob] = await outboxRows('articles.publish', id);
    expect(await settledRow(t, publishJob?.id ?? '')).toMatchObject({ status: 'done' });
    const followUps = await outboxRows('notifications.article-published', id);
    expect(followUps).toHaveLength(1);
    expect(followUps[0]?.dedupeKey).toBe(`article-published:${id}`);
  });

  it('is published by the due sweep when its job was lost, and a replayed job changes nothing', async () => {
    const created = await create({ publishAt: inMs(3_600_000) });
    const id = await articleId(t, created.slug);
    // The job is lost (its outbox row gone, as after a Redis data loss) and the time has passed.
    await t.deps.database.db
      .delete(jobOutbox)
      .where(eq(jobOutbox.dedupeKey, `publish-article:${id}:${Date.parse(created.publishAt ?? '')}`));
    await t.deps.database.db
      .update(articles)
      .set({ publishAt: sql`now() - interval '1 second'` })
      .where(eq(articles.id, id));
    expect((await get(created.slug)).statusCode).toBe(404);

    await t.deps.jobs.enqueue(publishDueArticlesJobType, {});
    const published = await publishedToEveryone(created.slug);
    expect(published.publishedAt).not.toBeNull();
    expect(await listSlugs(`?author=${author.username}`)).toContain(created.slug);

    // A second sweep and a replayed publish job find nothing to do.
    await t.deps.jobs.enqueue(publishDueArticlesJobType, {});
    await t.deps.jobs.enqueue(publishArticleJobType, { articleId: id });
    await waitFor('the replays to finish', async () => {
      const { waiting, active } = await t.deps.jobs.counts();
      return waiting + active === 0;
    });
    expect((await get(created.slug)).json().article.publishedAt).toBe(published.publishedAt);
    expect(await outboxRows('notifications.article-published', id)).toHaveLength(1);
  });
});

describe('changing the schedule', () => {
  it('reschedules: the old job does nothing, the new one publishes on the new time', async () => {
    const created = await create({ publishAt: inMs(4000) });
    const id = await articleId(t, created.slug);
    const later = inMs(3_600_000);
    const res = await t.app.inject({
      method: 'PUT',
      url: `/api/articles/${created.slug}`,
      headers: author.headers,
      payload: { article: { publishAt: later } },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().article).toMatchObject({ publishAt: later, publishedAt: null });

    const [first, second] = (await outboxRows('articles.publish', id)).sort((a, b) => +a.runAt - +b.runAt);
    expect(second?.runAt.toISOString()).toBe(later);
    // The first job runs at its time and finds the article rescheduled: still the author's alone.
    expect(await settledRow(t, first?.id ?? '')).toMatchObject({ status: 'done' });
    expect((await get(created.slug, reader)).statusCode).toBe(404);
    expect(await outboxRows('notifications.article-published', id)).toHaveLength(0);

    // Moved closer again: published on that time by its own job.
    const soon = inMs(1000);
    const closer = await t.app.inject({
      method: 'PUT',
      url: `/api/articles/${created.slug}`,
      headers: author.headers,
      payload: { article: { publishAt: soon } },
    });
    expect(closer.statusCode, closer.body).toBe(200);
    const published = await publishedToEveryone(created.slug);
    expect(Date.parse(published.publishedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(soon));
    expect(await outboxRows('notifications.article-published', id)).toHaveLength(1);
  });

  it('publishes now on publishAt null (or a past time), and refuses to reschedule a published article', async () => {
    const created = await create({ publishAt: inMs(3_600_000) });
    const now = await t.app.inject({
      method: 'PUT',
      url: `/api/articles/${created.slug}`,
      headers: author.headers,
      payload: { article: { publishAt: null } },
    });
    expect(now.statusCode, now.body).toBe(200);
    expect(now.json().article).toMatchObject({ publishAt: null, publishedAt: expect.any(String) });
    expect((await get(created.slug, reader)).statusCode).toBe(200);
    expect((await listSlugs(''))[0]).toBe(created.slug);

    const again = await t.app.inject({
      method: 'PUT',
      url: `/api/articles/${created.slug}`,
      headers: author.headers,
      payload: { article: { publishAt: inMs(3_600_000) } },
    });
    expect(again.statusCode).toBe(422);
    expect(again.json().errors.publishAt).toEqual(['cannot be changed: the article is already published']);
    expect((await get(created.slug)).statusCode).toBe(200);
    expect(
      await outboxRows('notifications.article-published', await articleId(t, created.slug)),
    ).toHaveLength(1);
  });

  it('its comments are its author’s alone too, even after an anonymous 404 was cached', async () => {
    const created = await create({ publishAt: inMs(3_600_000) });
    const url = `/api/articles/${created.slug}/comments`;
    const added = await t.app.inject({
      method: 'POST',
      url,
      headers: author.headers,
      payload: { comment: { body: 'note to self' } },
    });
    expect(added.statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url, headers: reader.headers })).statusCode).toBe(404);
    const own = await t.app.inject({ method: 'GET', url, headers: author.headers });
    expect(own.statusCode).toBe(200);
    expect(own.json().comments.map((comment: { body: string }) => comment.body)).toEqual(['note to self']);
  });

  it('only the author may change it: others get 404 as if it did not exist', async () => {
    const created = await create({ publishAt: inMs(3_600_000) });
    const res = await t.app.inject({
      method: 'PUT',
      url: `/api/articles/${created.slug}`,
      headers: reader.headers,
      payload: { article: { publishAt: null } },
    });
    expect(res.statusCode).toBe(404);
    const del = await t.app.inject({
      method: 'DELETE',
      url: `/api/articles/${created.slug}`,
      headers: reader.headers,
    });
    expect(del.statusCode).toBe(404);
  });
});

describe('publishing at once', () => {
  it('without publishAt or with a past one: visible now, follow-up recorded once in the create', async () => {
    for (const publishAt of [undefined, inMs(-60_000)]) {
      const created = await create(publishAt === undefined ? {} : { publishAt });
      expect(created).toMatchObject({ publishAt: null, publishedAt: created.createdAt });
      expect((await get(created.slug, reader)).statusCode).toBe(200);
      const id = await articleId(t, created.slug);
      expect(await outboxRows('articles.publish', id)).toHaveLength(0);
      const followUps = await outboxRows('notifications.article-published', id);
      expect(followUps).toHaveLength(1);
    }
  });

  it('records no follow-up for an author nobody follows, immediate or scheduled', async () => {
    const loner = await insertUser(t);
    const now = await postArticle(t, loner, {});
    const later = await postArticle(t, loner, { publishAt: inMs(1500) });
    await publishedToEveryone(later.slug);
    for (const slug of [now.slug, later.slug]) {
      expect(await outboxRows('notifications.article-published', await articleId(t, slug))).toEqual([]);
    }
  });

  it.each([
    ['not a date', 'tomorrow'],
    ['no time zone', '2030-01-01T10:00:00'],
    ['not a string', 1_900_000_000],
    ['too long', `2030-01-01T10:00:00.${'0'.repeat(40)}Z`],
  ])('answers 422 naming publishAt for %s', async (_, publishAt) => {
    for (const [method, url] of [
      ['POST', '/api/articles'],
      ['PUT', `/api/articles/${(await create()).slug}`],
    ] as const) {
      const res = await t.app.inject({
        method,
        url,
        headers: author.headers,
        payload: { article: { title: 't', description: 'd', body: 'b', publishAt } },
      });
      expect(res.statusCode, res.body).toBe(422);
      expect(Object.keys(res.json().errors)).toContain('publishAt');
    }
  });
});
