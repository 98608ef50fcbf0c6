import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { articles, comments, follows } from '../../../src/db/schema.js';
import { deliverEmail } from '../../../src/email/delivery.js';
import type { EmailKeys } from '../../../src/email/render.js';
import {
  previousWeekStart,
  queueNewArticleEmails,
  queueNewCommentEmail,
  queueNewFollowerEmail,
  queueWeeklyDigestEmails,
} from '../../../src/modules/notifications/emails.js';
import { updatePreferences } from '../../../src/modules/notifications/service.js';
import { writeWithoutFlush } from '../../email/unflushed.js';
import { createTestApp, type TestApp } from '../../support/app.js';
import { type Inbox, type InboxServer, type ReceivedEmail, startInboxServer } from '../../support/inbox.js';
import { insertUser, type TestUser } from '../../support/users.js';

let mail: InboxServer;
let t: TestApp;
let keys: EmailKeys;
const APP_URL = 'https://conduit.example';

beforeAll(async () => {
  mail = await startInboxServer();
  t = await createTestApp({ SMTP_URL: mail.url, APP_URL });
  keys = { jwtSecret: t.config.jwtSecret, appUrl: t.config.appUrl };
});
afterAll(async () => {
  await t?.close();
  await mail?.close();
});

type Person = TestUser & { inbox: Inbox };

async function person(name: string): Promise<Person> {
  const inbox = mail.createInbox();
  const user = await insertUser(t, {
    username: `${name}_${inbox.id.slice(0, 6)}`,
    email: inbox.emailAddress,
  });
  return { ...user, inbox };
}

/** Sends what was queued, as the email.send job would. */
async function send(ids: readonly (number | null)[]) {
  for (const id of ids) {
    if (id === null) continue;
    await deliverEmail({ db: t.deps.database.db, mailer: t.deps.mailer, keys }, id, {
      maxAttempts: 3,
      sendingLeaseMs: 30_000,
    });
  }
}

async function follow(follower: TestUser, followed: TestUser) {
  await t.deps.database.db.insert(follows).values({ followerId: follower.id, followingId: followed.id });
}

async function article(
  author: TestUser,
  fields: { title?: string; favoritesCount?: number; createdAt?: Date } = {},
) {
  const title = fields.title ?? `Article ${randomBytes(3).toString('hex')}`;
  const [row] = await t.deps.database.db
    .insert(articles)
    .values({
      slug: `${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-${randomBytes(3).toString('hex')}`,
      title,
      description: `About ${title}`,
      body: 'Body',
      authorId: author.id,
      favoritesCount: fields.favoritesCount ?? 0,
      ...(fields.createdAt
        ? { createdAt: fields.createdAt, updatedAt: fields.createdAt, publishedAt: fields.createdAt }
        : {}),
    })
    .returning({ id: articles.id, slug: articles.slug, title: articles.title });
  if (!row) throw new Error('no article');
  return row;
}

async function comment(author: TestUser, articleId: number, body: string) {
  const [row] = await t.deps.database.db
    .insert(comments)
    .values({ body, articleId, authorId: author.id })
    .returning({ id: comments.id });
  if (!row) throw new Error('no comment');
  return row.id;
}

/** The one-click unsubscribe an RFC 8058 mail client performs with the email's headers. */
async function oneClickUnsubscribe(email: ReceivedEmail) {
  expect(email.headers.get('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
  const header = email.headers.get('list-unsubscribe') ?? '';
  const url = /^<(https:\/\/[^>]+)>$/.exec(header)?.[1];
  if (!url) throw new Error(`no https List-Unsubscribe in "${header}"`);
  expect(url.startsWith(`${APP_URL}/api/notifications/unsubscribe?token=`)).toBe(true);
  const res = await t.app.inject({
    method: 'POST',
    url: url.slice(APP_URL.length),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: 'List-Unsubscribe=One-Click',
  });
  expect(res.statusCode).toBe(200);
}

async function preferencesOf(user: TestUser) {
  const res = await t.app.inject({ method: 'GET', url: '/api/user/notifications', headers: user.headers });
  return res.json().notifications;
}

describe('new follower', () => {
  it('tells the followed user, links to the follower, and the unsubscribe header switches it off', async () => {
    const [ann, bob, carol] = [await person('ann'), await person('bob'), await person('carol')];
    await follow(ann, bob);
    await send([
      await writeWithoutFlush(t.deps, (uow) =>
        queueNewFollowerEmail(uow, { followerId: ann.id, followedId: bob.id }),
      ),
    ]);

    const email = await mail.waitForLatestEmail(bob.inbox, 5000);
    expect(email.to).toEqual([bob.email]);
    expect(email.subject).toBe(`${ann.username} is now following you`);
    expect(email.links).toContain(`${APP_URL}/profile/${ann.username}`);
    expect(mail.emails(ann.inbox)).toEqual([]);

    // Following again (after an unfollow) is the same event: no second email.
    expect(
      await writeWithoutFlush(t.deps, (uow) =>
        queueNewFollowerEmail(uow, { followerId: ann.id, followedId: bob.id }),
      ),
    ).toBeNull();

    await oneClickUnsubscribe(email);
    expect((await preferencesOf(bob)).newFollower).toBe(false);
    await follow(carol, bob);
    expect(
      await writeWithoutFlush(t.deps, (uow) =>
        queueNewFollowerEmail(uow, { followerId: carol.id, followedId: bob.id }),
      ),
    ).toBeNull();
  });
});

describe('new comment', () => {
  it("tells the article's author with an excerpt and a link to the comments", async () => {
    const [author, reader] = [await person('author'), await person('reader')];
    const post = await article(author, { title: 'Tea & <Cakes>' });
    const commentId = await comment(reader, post.id, 'Lovely <b>post</b>\nsecond line');
    await send([await writeWithoutFlush(t.deps, (uow) => queueNewCommentEmail(uow, { commentId }))]);

    const email = await mail.waitForLatestEmail(author.inbox, 5000);
    expect(email.to).toEqual([author.email]);
    expect(email.subject).toBe(`${reader.username} commented on "Tea & <Cakes>"`);
    expect(email.text).toContain('> Lovely <b>post</b>\n> second line');
    expect(email.html).toContain('Lovely &lt;b&gt;post&lt;/b&gt;');
    expect(email.links).toContain(`${APP_URL}/article/${post.slug}#comments`);
    expect(mail.emails(reader.inbox)).toEqual([]);
  });

  it('stays silent when authors comment on their own article, or switched comments off', async () => {
    const [author, reader] = [await person('author'), await person('reader')];
    const post = await article(author);
    const own = await comment(author, post.id, 'my own note');
    expect(
      await writeWithoutFlush(t.deps, (uow) => queueNewCommentEmail(uow, { commentId: own })),
    ).toBeNull();

    await updatePreferences(t.deps.database.db, author.id, { newComment: false });
    const other = await comment(reader, post.id, 'hello');
    expect(
      await writeWithoutFlush(t.deps, (uow) => queueNewCommentEmail(uow, { commentId: other })),
    ).toBeNull();
    expect(mail.emails(author.inbox)).toEqual([]);
  });
});

describe('new article (fan-out to followers)', () => {
  it('emails every follower with the switch on, once, with a link to the article', async () => {
    const author = await person('writer');
    const [first, muted, second, stranger] = [
      await person('f1'),
      await person('muted'),
      await person('f2'),
      await person('stranger'),
    ];
    for (const follower of [first, muted, second]) await follow(follower, author);
    await updatePreferences(t.deps.database.db, muted.id, { newArticle: false });
    const post = await article(author, { title: 'Fresh news' });

    const ids = await writeWithoutFlush(t.deps, (uow) => queueNewArticleEmails(uow, { articleId: post.id }));
    expect(ids).toHaveLength(2);
    await send(ids);
    for (const follower of [first, second]) {
      const email = await mail.waitForLatestEmail(follower.inbox, 5000);
      expect(email.to).toEqual([follower.email]);
      expect(email.subject).toBe(`New article by ${author.username}: Fresh news`);
      expect(email.links).toContain(`${APP_URL}/article/${post.slug}`);
      expect(email.headers.get('list-unsubscribe')).toMatch(
        new RegExp(`token=${follower.id}\\.new_article\\.`),
      );
    }
    expect(mail.emails(muted.inbox)).toEqual([]);
    expect(mail.emails(stranger.inbox)).toEqual([]);

    // A rerun of the fan-out job queues nothing new.
    expect(
      await writeWithoutFlush(t.deps, (uow) => queueNewArticleEmails(uow, { articleId: post.id })),
    ).toEqual([]);
  });
});

describe('weekly digest', () => {
  const weekStart = new Date('2020-01-06T00:00:00Z');
  const inWeek = (day: number) => new Date(weekStart.getTime() + day * 86_400_000 + 3_600_000);

  it("lists the week's most favorited articles from followed authors, most favorited first", async () => {
    const [reader, idle, muted] = [await person('reader'), await person('idle'), await person('muted')];
    const [a1, a2, unfollowed] = [await person('a1'), await person('a2'), await person('other')];
    await follow(reader, a1);
    await follow(reader, a2);
    await follow(muted, a1);
    await updatePreferences(t.deps.database.db, muted.id, { weeklyDigest: false });
    const top = await article(a2, { title: 'Top', favoritesCount: 9, createdAt: inWeek(1) });
    const middle = await article(a1, { title: 'Middle', favoritesCount: 3, createdAt: inWeek(3) });
    const low = await article(a1, { title: 'Low', favoritesCount: 1, createdAt: inWeek(6) });
    await article(a1, { title: 'Last week', favoritesCount: 50, createdAt: inWeek(-1) });
    await article(a1, { title: 'Next week', favoritesCount: 50, createdAt: inWeek(7) });
    await article(unfollowed, { title: 'Not followed', favoritesCount: 99, createdAt: inWeek(2) });

    const ids = await writeWithoutFlush(t.deps, (uow) => queueWeeklyDigestEmails(uow, { weekStart }));
    expect(ids).toHaveLength(1);
    await send(ids);
    const email = await mail.waitForLatestEmail(reader.inbox, 5000);
    expect(email.subject).toBe('Your Conduit weekly digest (week of 2020-01-06)');
    const articleLinks = email.links.filter((link) => link.startsWith(`${APP_URL}/article/`));
    expect(articleLinks).toEqual([top, middle, low].map((a) => `${APP_URL}/article/${a.slug}`));
    expect(email.text).not.toMatch(/Last week|Next week|Not followed/);
    for (const quiet of [idle, muted, a1, a2]) expect(mail.emails(quiet.inbox)).toEqual([]);

    // Once per user and week.
    expect(await writeWithoutFlush(t.deps, (uow) => queueWeeklyDigestEmails(uow, { weekStart }))).toEqual([]);

    // The people's way out: the GET page, then its button.
    const url = /^<([^>]+)>$/.exec(email.headers.get('list-unsubscribe') ?? '')?.[1] ?? '';
    const page = await t.app.inject({ method: 'GET', url: url.slice(APP_URL.length) });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('weekly digest');
    expect((await preferencesOf(reader)).weeklyDigest).toBe(true);
    await t.app.inject({
      method: 'POST',
      url: url.slice(APP_URL.length),
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      payload: '',
    });
    expect((await preferencesOf(reader)).weeklyDigest).toBe(false);
  });

  it('covers the previous Monday-to-Monday week', () => {
    expect(previousWeekStart(new Date('2026-11-26T09:00:00Z')).toISOString()).toBe(
      '2026-11-16T00:00:00.000Z',
    );
    expect(previousWeekStart(new Date('2026-11-23T00:00:00Z')).toISOString()).toBe(
      '2026-11-16T00:00:00.000Z',
    );
    expect(previousWeekStart(new Date('2026-11-22T23:59:59Z')).toISOString()).toBe(
      '2026-11-09T00:00:00.000Z',
    );
  });
});
