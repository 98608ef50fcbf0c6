import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueEmails } from '../../../src/email/log.js';
import { createTestApp, type TestApp } from '../../support/app.js';
import { insertUser, type TestUser } from '../../support/users.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t?.close());

describe('GET /api/admin/emails', () => {
  let admin: TestUser;
  let ann: TestUser;
  let bob: TestUser;
  const keys = () => ({ jwtSecret: t.config.jwtSecret, appUrl: t.config.appUrl });

  beforeAll(async () => {
    admin = await insertUser(t, { role: 'admin' });
    ann = await insertUser(t);
    bob = await insertUser(t);
    const db = t.deps.database.db;
    // Oldest first, so the log lists them in reverse.
    for (const [user, template, key] of [
      [ann, 'new-follower', 'a1'],
      [bob, 'new-follower', 'b1'],
      [ann, 'verify-email', 'a2'],
    ] as const) {
      if (template === 'verify-email') {
        await queueEmails(db, keys(), [
          {
            to: user.email.toUpperCase(),
            userId: user.id,
            template,
            data: { username: user.username, token: 'secret-token-value' },
            dedupeKey: `admin-test:${key}`,
          },
        ]);
      } else {
        await queueEmails(db, keys(), [
          {
            to: user.email,
            userId: user.id,
            template,
            data: { followerUsername: 'zed' },
            dedupeKey: `admin-test:${key}`,
          },
        ]);
      }
    }
  });

  const list = (query: string, user: TestUser = admin) =>
    t.app.inject({ method: 'GET', url: `/api/admin/emails${query}`, headers: user.headers });

  it('lists the log newest first with paging and a total', async () => {
    const res = await list('?limit=2');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.emailsCount).toBe(3);
    expect(body.emails.map((e: { dedupeKey: string }) => e.dedupeKey)).toEqual([
      'admin-test:a2',
      'admin-test:b1',
    ]);
    expect(body.emails[0]).toMatchObject({
      to: ann.email,
      userId: ann.id,
      template: 'verify-email',
      subject: 'Confirm your email address',
      status: 'queued',
      attempts: 0,
      lastError: null,
      providerMessageId: null,
      sentAt: null,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    const next = (await list('?limit=2&offset=2')).json();
    expect(next.emails.map((e: { dedupeKey: string }) => e.dedupeKey)).toEqual(['admin-test:a1']);
    expect(res.body).not.toContain('secret-token-value');
  });

  it('filters by recipient (any case), status and template', async () => {
    const byRecipient = (await list(`?to=${encodeURIComponent(ann.email.toUpperCase())}`)).json();
    expect(byRecipient.emailsCount).toBe(2);
    expect(byRecipient.emails.every((e: { to: string }) => e.to === ann.email)).toBe(true);

    const byTemplate = (await list('?template=new-follower')).json();
    expect(byTemplate.emails.map((e: { dedupeKey: string }) => e.dedupeKey)).toEqual([
      'admin-test:b1',
      'admin-test:a1',
    ]);

    expect((await list('?status=sent')).json()).toEqual({ emails: [], emailsCount: 0 });
    expect(
      (await list(`?status=queued&template=verify-email&to=${encodeURIComponent(bob.email)}`)).json(),
    ).toEqual({
      emails: [],
      emailsCount: 0,
    });
  });

  it('refuses bad filters with 422', async () => {
    expect((await list('?status=lost')).statusCode).toBe(422);
    expect((await list('?template=nope')).statusCode).toBe(422);
    expect((await list('?limit=1000')).statusCode).toBe(422);
  });

  it('answers 401 without a token and 403 to non-admins', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/api/admin/emails' })).statusCode).toBe(401);
    expect((await list('', ann)).statusCode).toBe(403);
  });
});
