import { randomBytes } from 'node:crypto';
import { eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { emailLog } from '../../../src/db/schema.js';
import { outboxSweepJobType } from '../../../src/jobs/system-jobs.js';
import {
  digestWeekOf,
  previousWeekStart,
  queueNewFollowerEmail,
} from '../../../src/modules/notifications/emails.js';
import { weeklyDigestJobType } from '../../../src/modules/notifications/job-types.js';
import { writeWithoutFlush } from '../../email/unflushed.js';
import { emailRowsTo, waitForEmailRows } from '../../email/wait.js';
import { createTestApp, type TestApp } from '../../support/app.js';
import { type Inbox, type InboxServer, type ReceivedEmail, startInboxServer } from '../../support/inbox.js';
import { describeWithRedis, TEST_REDIS_URL } from '../../support/services.js';
import { insertUser, type TestUser } from '../../support/users.js';

/**
 * The product's events end to end: an HTTP request (or the recurring job) → email_log row in its
 * transaction → `email.send` on the real job queue → real SMTP → an inbox → following the link.
 * Once on the in-process queue, once on BullMQ (Redis) with the API running the jobs.
 */

const APP_URL = 'https://conduit.example';
const WAIT = 10_000;

function eventSuite(label: string, extraEnv: () => Record<string, string>) {
  let mail: InboxServer;
  let t: TestApp;

  beforeAll(async () => {
    mail = await startInboxServer();
    t = await createTestApp({
      SMTP_URL: mail.url,
      APP_URL,
      // Short retries, so an outage test rides out 10 attempts in about a second.
      JOB_BACKOFF_MS: '5',
      // Fan-outs of a few followers take several batches (jobs).
      NOTIFICATION_BATCH_SIZE: '2',
      // Signups, logins and reset requests of the whole file come from one address; with Redis the
      // counters are shared with other test files unless the prefix is this app's own.
      AUTH_RATE_LIMIT_IP_MAX: '100000',
      RATE_LIMIT_KEY_PREFIX: `test:rate-limit:${randomBytes(6).toString('hex')}:`,
      ...extraEnv(),
    });
  });
  afterAll(async () => {
    await t?.close();
    await mail?.close();
  });

  const db = () => t.deps.database.db;

  /** A user whose address is a fresh inbox. */
  async function person(prefix: string): Promise<TestUser & { inbox: Inbox }> {
    const inbox = mail.createInbox();
    const user = await insertUser(t, {
      username: `${prefix}_${inbox.id.slice(0, 8)}`,
      email: inbox.emailAddress,
    });
    return { ...user, inbox };
  }

  /** The path and query of the link in an email that starts with `prefix`, to follow with inject. */
  function linkIn(email: ReceivedEmail, prefix: string): string {
    const link = email.links.find((candidate) => candidate.startsWith(`${APP_URL}${prefix}`));
    if (!link) throw new Error(`no ${prefix} link in: ${email.text}`);
    return link.slice(APP_URL.length);
  }

  /** Waits until every email the log holds for these addresses is sent or failed. */
  async function settled(...addresses: string[]) {
    for (const address of addresses) {
      const rows = await emailRowsTo(db(), address);
      await waitForEmailRows(
        db(),
        rows.map((row) => row.id),
        { timeoutMs: WAIT },
      );
    }
  }

  const follow = (who: TestUser, whom: TestUser) =>
    t.app.inject({ method: 'POST', url: `/api/profiles/${whom.username}/follow`, headers: who.headers });

  async function publish(author: TestUser, title: string) {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/articles',
      headers: author.headers,
      payload: { article: { title, description: `About ${title}`, body: 'Body', tagList: [] } },
    });
    expect(res.statusCode).toBe(201);
    return res.json().article as { slug: string };
  }

  describe(`${label}: signup and account emails`, () => {
    it('signup emails a verification link; opening it verifies the address; a new address gets a new one', async () => {
      const inbox = mail.createInbox();
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/users',
        payload: {
          user: {
            username: `v_${inbox.id.slice(0, 8)}`,
            email: inbox.emailAddress,
            password: 'correct horse',
          },
        },
      });
      expect(res.statusCode).toBe(201);
      const headers = { authorization: `Token ${res.json().user.token}` };
      expect(res.json().user.emailVerified).toBe(false);

      const email = await mail.waitForLatestEmail(inbox, WAIT);
      expect(email.to).toEqual([inbox.emailAddress]);
      expect(email.subject).toBe('Confirm your email address');
      const page = await t.app.inject({ method: 'GET', url: linkIn(email, '/api/auth/verify-email?token=') });
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain('Address verified');
      const me = await t.app.inject({ method: 'GET', url: '/api/user', headers });
      expect(me.json().user.emailVerified).toBe(true);

      const other = mail.createInbox();
      const changed = await t.app.inject({
        method: 'PUT',
        url: '/api/user',
        headers,
        payload: { user: { email: other.emailAddress } },
      });
      expect(changed.statusCode).toBe(200);
      expect(changed.json().user.emailVerified).toBe(false);
      const second = await mail.waitForLatestEmail(other, WAIT);
      expect(second.subject).toBe('Confirm your email address');
      await t.app.inject({ method: 'GET', url: linkIn(second, '/api/auth/verify-email?token=') });
      const after = await t.app.inject({ method: 'GET', url: '/api/user', headers });
      expect(after.json().user.emailVerified).toBe(true);
      // A bio change sends nothing.
      await t.app.inject({ method: 'PUT', url: '/api/user', headers, payload: { user: { bio: 'hi' } } });
      await settled(inbox.emailAddress, other.emailAddress);
      expect(mail.emails(inbox)).toHaveLength(1);
      expect(mail.emails(other)).toHaveLength(1);
    });

    it('forgot password → emailed link → form page → new password works once; the old one does not', async () => {
      const inbox = mail.createInbox();
      const username = `r_${inbox.id.slice(0, 8)}`;
      await t.app.inject({
        method: 'POST',
        url: '/api/users',
        payload: { user: { username, email: inbox.emailAddress, password: 'old password 1' } },
      });
      await mail.waitForLatestEmail(inbox, WAIT); // the verification email
      const forgot = await t.app.inject({
        method: 'POST',
        url: '/api/auth/forgot-password',
        payload: { email: inbox.emailAddress },
      });
      expect(forgot.statusCode).toBe(202);
      const email = await mail.waitForLatestEmail(inbox, WAIT);
      expect(email.subject).toBe('Reset your Conduit password');
      const link = linkIn(email, '/api/auth/reset-password?token=');
      const form = await t.app.inject({ method: 'GET', url: link });
      expect(form.statusCode).toBe(200);
      expect(form.body).toContain('<form');
      const token = new URL(link, APP_URL).searchParams.get('token') ?? '';
      const post = () =>
        t.app.inject({
          method: 'POST',
          url: '/api/auth/reset-password',
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
          payload: new URLSearchParams({ token, password: 'new password 2' }).toString(),
        });
      const done = await post();
      expect(done.statusCode).toBe(200);
      expect(done.body).toContain('Password changed');
      expect((await post()).statusCode).toBe(400);
      const login = (password: string) =>
        t.app.inject({
          method: 'POST',
          url: '/api/users/login',
          payload: { user: { email: inbox.emailAddress, password } },
        });
      expect((await login('new password 2')).statusCode).toBe(200);
      expect((await login('old password 1')).statusCode).toBe(401);
    });
  });

  describe(`${label}: notifications`, () => {
    it('follow emails the followee once, with a one-click unsubscribe that stops the next ones', async () => {
      const [star, fan, fan2] = [await person('star'), await person('fan'), await person('fan2')];
      expect((await follow(fan, star)).statusCode).toBe(200);
      const email = await mail.waitForLatestEmail(star.inbox, WAIT);
      expect(email.to).toEqual([star.email]);
      expect(email.subject).toBe(`${fan.username} is now following you`);
      expect(email.headers.get('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
      const unsubscribe = /<([^>]+)>/.exec(email.headers.get('list-unsubscribe') ?? '')?.[1] ?? '';
      expect(unsubscribe.startsWith(`${APP_URL}/api/notifications/unsubscribe?token=`)).toBe(true);

      // Unfollow and follow again: the same event, no second email.
      await t.app.inject({
        method: 'DELETE',
        url: `/api/profiles/${star.username}/follow`,
        headers: fan.headers,
      });
      expect((await follow(fan, star)).statusCode).toBe(200);

      // The mail client's one-click POST (RFC 8058), without any login.
      const oneClick = await t.app.inject({
        method: 'POST',
        url: unsubscribe.slice(APP_URL.length),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'List-Unsubscribe=One-Click',
      });
      expect(oneClick.statusCode).toBe(200);
      const prefs = await t.app.inject({
        method: 'GET',
        url: '/api/user/notifications',
        headers: star.headers,
      });
      expect(prefs.json().notifications.newFollower).toBe(false);

      expect((await follow(fan2, star)).statusCode).toBe(200);
      await settled(star.email);
      expect(mail.emails(star.inbox)).toHaveLength(1);
      const rows = await emailRowsTo(db(), star.email);
      expect(rows.map((row) => row.dedupeKey)).toEqual([`follow:${fan.id}:user:${star.id}`]);
    });

    it("a comment emails the article's author, with a link to the article; not for the author's own", async () => {
      const [author, reader] = [await person('author'), await person('reader')];
      const article = await publish(author, `Commented ${author.inbox.id.slice(0, 6)}`);
      const comment = (who: TestUser, body: string) =>
        t.app.inject({
          method: 'POST',
          url: `/api/articles/${article.slug}/comments`,
          headers: who.headers,
          payload: { comment: { body } },
        });
      expect((await comment(author, 'my own note')).statusCode).toBe(200);
      expect((await comment(reader, 'Nice <b>read</b>')).statusCode).toBe(200);
      const email = await mail.waitForLatestEmail(author.inbox, WAIT);
      expect(email.subject).toContain(`${reader.username} commented on`);
      expect(email.text).toContain('Nice <b>read</b>');
      expect(email.html).not.toContain('<b>read</b>');
      // The link works: it opens the article's page for people, which shows the comment (escaped).
      const link = `${APP_URL}/article/${article.slug}#comments`;
      expect(email.links).toContain(link);
      const page = await t.app.inject({ method: 'GET', url: link.slice(APP_URL.length).replace(/#.*$/, '') });
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.body).toContain('id="comments"');
      expect(page.body).toContain('Nice &lt;b&gt;read&lt;/b&gt;');
      await settled(author.email);
      expect(mail.emails(author.inbox)).toHaveLength(1);
    });

    it('publishing emails every follower exactly once, across several fan-out batches, minus the switched-off', async () => {
      const author = await person('writer');
      const followers = await Promise.all([1, 2, 3, 4, 5].map((i) => person(`f${i}`)));
      for (const follower of followers) expect((await follow(follower, author)).statusCode).toBe(200);
      const muted = await person('muted');
      await follow(muted, author);
      await t.app.inject({
        method: 'PUT',
        url: '/api/user/notifications',
        headers: muted.headers,
        payload: { notifications: { newArticle: false } },
      });
      const article = await publish(author, `Fan-out ${author.inbox.id.slice(0, 6)}`);

      for (const follower of followers) {
        const email = await mail.waitForLatestEmail(follower.inbox, WAIT);
        expect(email.to).toEqual([follower.email]);
        expect(email.subject).toContain(`New article by ${author.username}`);
        expect(email.links).toContain(`${APP_URL}/article/${article.slug}`);
      }
      await settled(...followers.map((f) => f.email), muted.email);
      for (const follower of followers) expect(mail.emails(follower.inbox)).toHaveLength(1);
      expect(mail.emails(muted.inbox)).toEqual([]);
    });

    it('the weekly digest job sends the most favorited articles of followed authors, once per week', async () => {
      const [writer, other, reader, muted] = [
        await person('dw'),
        await person('dx'),
        await person('dr'),
        await person('dm'),
      ];
      for (const who of [reader, muted]) await follow(who, writer);
      await t.app.inject({
        method: 'PUT',
        url: '/api/user/notifications',
        headers: muted.headers,
        payload: { notifications: { weeklyDigest: false } },
      });
      const quiet = await publish(writer, `Quiet ${writer.inbox.id.slice(0, 6)}`);
      const loved = await publish(writer, `Loved ${writer.inbox.id.slice(0, 6)}`);
      await publish(other, `Unfollowed ${other.inbox.id.slice(0, 6)}`);
      // Scheduled for later: not published this week, so not in anyone's digest.
      const scheduled = await t.app.inject({
        method: 'POST',
        url: '/api/articles',
        headers: writer.headers,
        payload: {
          article: {
            title: `Scheduled ${writer.inbox.id.slice(0, 6)}`,
            description: 'later',
            body: 'later',
            publishAt: new Date(Date.now() + 30 * 86_400_000).toISOString(),
          },
        },
      });
      expect(scheduled.statusCode).toBe(201);
      for (const fan of [other, muted]) {
        await t.app.inject({
          method: 'POST',
          url: `/api/articles/${loved.slug}/favorite`,
          headers: fan.headers,
        });
      }
      // The week the articles were written in, as a run next week would cover it.
      const weekOf = digestWeekOf(previousWeekStart(new Date(Date.now() + 7 * 86_400_000)));
      // The reader also got the two new-article emails; the digest comes after them.
      await settled(reader.email);
      const before = mail.emails(reader.inbox).length;
      await t.deps.jobs.enqueue(weeklyDigestJobType, { weekOf });
      const email = (await mail.waitForEmails(reader.inbox, before + 1, WAIT)).at(-1);
      if (!email) throw new Error('no digest');
      expect(email.subject).toBe(`Your Conduit weekly digest (week of ${weekOf})`);
      const lovedAt = email.text.indexOf(`${APP_URL}/article/${loved.slug}`);
      const quietAt = email.text.indexOf(`${APP_URL}/article/${quiet.slug}`);
      expect(lovedAt).toBeGreaterThan(-1);
      expect(quietAt).toBeGreaterThan(lovedAt);
      expect(email.text).not.toContain('Unfollowed');
      expect(email.text).not.toContain('Scheduled');
      expect(email.headers.get('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');

      // The week's digest exists: a second run sends nothing more.
      await t.deps.jobs.enqueue(weeklyDigestJobType, { weekOf });
      await t.deps.jobs.enqueue(weeklyDigestJobType, { weekOf, after: 0 });
      await settled(reader.email, muted.email);
      const [readerRow] = await emailRowsTo(db(), reader.email).then((rows) =>
        rows.filter((row) => row.template === 'weekly-digest'),
      );
      expect(readerRow?.dedupeKey).toBe(`digest:${weekOf}:user:${reader.id}`);
      expect(mail.emails(reader.inbox)).toHaveLength(before + 1);
      const mutedMail = mail.emails(muted.inbox).map((received) => received.subject);
      expect(mutedMail.filter((subject) => subject.includes('weekly digest'))).toEqual([]);
    });
  });

  describe(`${label}: SMTP trouble`, () => {
    // Refusals go to whichever recipients come next: let earlier tests' emails finish first.
    beforeEach(async () => {
      const pending = await db()
        .select({ id: emailLog.id })
        .from(emailLog)
        .where(inArray(emailLog.status, ['queued', 'sending']));
      await waitForEmailRows(
        db(),
        pending.map((row) => row.id),
        { timeoutMs: WAIT },
      );
    });

    /** A user asks for a reset link: one email, to a fresh inbox. */
    async function resetEmail() {
      const user = await person('smtp');
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/auth/forgot-password',
        payload: { email: user.email },
      });
      expect(res.statusCode).toBe(202);
      const [row] = await emailRowsTo(db(), user.email);
      if (!row) throw new Error('no email row');
      return { user, emailId: row.id };
    }

    it('an email whose enqueue was lost is sent by the outbox sweep', async () => {
      const user = await person('lost');
      // A row committed with its job but never handed to the queue (the process died right after
      // the commit).
      const follower = await person('lf');
      const emailId = await writeWithoutFlush(t.deps, (uow) =>
        queueNewFollowerEmail(uow, { followerId: follower.id, followedId: user.id }),
      );
      if (emailId === null) throw new Error('no row');
      await t.deps.jobs.enqueue(outboxSweepJobType, {});
      const email = await mail.waitForLatestEmail(user.inbox, WAIT);
      expect(email.subject).toContain('is now following you');
      const [row] = await waitForEmailRows(db(), [emailId], { timeoutMs: WAIT });
      expect(row).toMatchObject({ status: 'sent', attempts: 1 });
    });

    it('a 4xx answer is retried with backoff and the email delivered once', async () => {
      mail.rejectNext(3, 451, 'try again later');
      const { user, emailId } = await resetEmail();
      const [row] = await waitForEmailRows(db(), [emailId], { timeoutMs: WAIT });
      expect(row).toMatchObject({ status: 'sent', attempts: 4 });
      expect(row?.lastError).toContain('451');
      expect(mail.emails(user.inbox)).toHaveLength(1);
    });

    it('a 5xx rejection fails at once, with the error in the log', async () => {
      mail.rejectNext(1, 550, 'no such user');
      const { user, emailId } = await resetEmail();
      const [row] = await waitForEmailRows(db(), [emailId], { timeoutMs: WAIT });
      expect(row).toMatchObject({ status: 'failed', attempts: 1 });
      expect(row?.lastError).toContain('550');
      expect(mail.emails(user.inbox)).toEqual([]);
    });

    it('SMTP answering 4xx to every attempt: failed after the last one, attempts and error logged', async () => {
      mail.rejectNext(10, 452, 'insufficient system storage');
      const { emailId } = await resetEmail();
      const [row] = await waitForEmailRows(db(), [emailId], { timeoutMs: WAIT });
      expect(row).toMatchObject({ status: 'failed', attempts: 10 });
      expect(row?.lastError).toContain('452');
    });

    it('SMTP down, then back within the retry window: delivered exactly once', async () => {
      await mail.stop();
      let sent: Awaited<ReturnType<typeof resetEmail>>;
      try {
        sent = await resetEmail();
        // Attempts meet the outage (the row shows them) before the server comes back.
        const deadline = Date.now() + WAIT;
        for (;;) {
          const [row] = await db().select().from(emailLog).where(eq(emailLog.id, sent.emailId));
          if (row && row.attempts >= 2 && row.status === 'queued') {
            expect(row.lastError).toMatch(/ECONNREFUSED|ECONNECTION|ESOCKET|ECONNRESET/);
            break;
          }
          if (Date.now() > deadline) throw new Error(`no retry seen: ${JSON.stringify(row)}`);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      } finally {
        await mail.start();
      }
      const [row] = await waitForEmailRows(db(), [sent.emailId], { timeoutMs: WAIT });
      expect(row?.status).toBe('sent');
      expect(row?.attempts).toBeGreaterThanOrEqual(3);
      expect(mail.emails(sent.user.inbox)).toHaveLength(1);
    });
  });
}

describe('in-process queue', () => {
  eventSuite('in-process', () => ({}));
});

describeWithRedis('BullMQ queue (the API runs the jobs)', () => {
  eventSuite('bullmq', () => ({ REDIS_URL: TEST_REDIS_URL, RUN_JOBS_IN_API: 'true' }));
});
