import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUnsubscribeTokens } from '../../../src/email/unsubscribe.js';
import { emailRowsTo, waitForEmailRows } from '../../email/wait.js';
import { createTestApp, type TestApp } from '../../support/app.js';
import { insertUser, type TestUser } from '../../support/users.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t?.close());

const ALL_ON = { newFollower: true, newComment: true, newArticle: true, weeklyDigest: true };

async function preferences(user: TestUser) {
  const res = await t.app.inject({ method: 'GET', url: '/api/user/notifications', headers: user.headers });
  expect(res.statusCode).toBe(200);
  return res.json().notifications;
}

describe('GET/PUT /api/user/notifications', () => {
  it('starts with every switch on', async () => {
    expect(await preferences(await insertUser(t))).toEqual(ALL_ON);
  });

  it('changes only the switches given, and keeps them', async () => {
    const user = await insertUser(t);
    const res = await t.app.inject({
      method: 'PUT',
      url: '/api/user/notifications',
      headers: user.headers,
      payload: { notifications: { newComment: false, weeklyDigest: false } },
    });
    expect(res.statusCode).toBe(200);
    const expected = { ...ALL_ON, newComment: false, weeklyDigest: false };
    expect(res.json()).toEqual({ notifications: expected });

    const again = await t.app.inject({
      method: 'PUT',
      url: '/api/user/notifications',
      headers: user.headers,
      payload: { notifications: { newComment: true } },
    });
    expect(again.json().notifications).toEqual({ ...expected, newComment: true });
    expect(await preferences(user)).toEqual({ ...expected, newComment: true });
  });

  it("does not touch another user's switches", async () => {
    const [ann, bob] = [await insertUser(t), await insertUser(t)];
    await t.app.inject({
      method: 'PUT',
      url: '/api/user/notifications',
      headers: ann.headers,
      payload: { notifications: { newFollower: false } },
    });
    expect(await preferences(bob)).toEqual(ALL_ON);
  });

  it('answers 422 for a value that is not a boolean', async () => {
    const user = await insertUser(t);
    const res = await t.app.inject({
      method: 'PUT',
      url: '/api/user/notifications',
      headers: user.headers,
      payload: { notifications: { newFollower: 'perhaps' } },
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().errors).toHaveProperty('newFollower');
  });

  it('answers 401 without a token', async () => {
    const get = await t.app.inject({ method: 'GET', url: '/api/user/notifications' });
    expect(get.statusCode).toBe(401);
    const put = await t.app.inject({
      method: 'PUT',
      url: '/api/user/notifications',
      payload: { notifications: { newFollower: false } },
    });
    expect(put.statusCode).toBe(401);
  });
});

describe('/api/notifications/unsubscribe', () => {
  const tokens = () => createUnsubscribeTokens(t.config.jwtSecret);
  const url = (token: string) => `/api/notifications/unsubscribe?token=${encodeURIComponent(token)}`;

  it('GET shows a page with a button that posts, and changes nothing', async () => {
    const user = await insertUser(t);
    const token = tokens().create({ userId: user.id, kind: 'new_comment' });
    const res = await t.app.inject({ method: 'GET', url: url(token) });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['content-security-policy']).toMatch(/default-src 'none'/);
    expect(res.body).toContain('<form method="post"');
    expect(res.body).toContain(`action="?token=${encodeURIComponent(token)}"`);
    expect(res.body).toContain('new comment');
    expect(await preferences(user)).toEqual(ALL_ON);
  });

  it('one-click POST (RFC 8058) turns off that kind only, without logging in', async () => {
    const user = await insertUser(t);
    const token = tokens().create({ userId: user.id, kind: 'new_follower' });
    const res = await t.app.inject({
      method: 'POST',
      url: url(token),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      unsubscribed: { kind: 'new_follower', notifications: { ...ALL_ON, newFollower: false } },
    });
    expect(await preferences(user)).toEqual({ ...ALL_ON, newFollower: false });

    // Clients may retry: the same answer, nothing else changes.
    const again = await t.app.inject({
      method: 'POST',
      url: url(token),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(again.statusCode).toBe(200);
    expect(await preferences(user)).toEqual({ ...ALL_ON, newFollower: false });
  });

  it('accepts the multipart form some clients send', async () => {
    const user = await insertUser(t);
    const token = tokens().create({ userId: user.id, kind: 'weekly_digest' });
    const boundary = 'xyz';
    const res = await t.app.inject({
      method: 'POST',
      url: url(token),
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload: `--${boundary}\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--${boundary}--\r\n`,
    });
    expect(res.statusCode).toBe(200);
    expect((await preferences(user)).weeklyDigest).toBe(false);
  });

  it('the page button (a browser form POST) gets an HTML confirmation', async () => {
    const user = await insertUser(t);
    const token = tokens().create({ userId: user.id, kind: 'new_article' });
    const res = await t.app.inject({
      method: 'POST',
      url: url(token),
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'text/html,application/xhtml+xml,*/*;q=0.8',
      },
      payload: '',
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toContain('no longer receive <strong>new article</strong> emails');
    expect((await preferences(user)).newArticle).toBe(false);
  });

  it('refuses a forged or malformed token with 400, and changes nothing', async () => {
    const user = await insertUser(t);
    const genuine = tokens().create({ userId: user.id, kind: 'new_comment' });
    const forged = genuine.replace('new_comment', 'new_follower');
    const foreign = createUnsubscribeTokens(`${t.config.jwtSecret}x`).create({
      userId: user.id,
      kind: 'new_comment',
    });
    for (const token of [forged, foreign, 'garbage']) {
      for (const method of ['GET', 'POST'] as const) {
        const res = await t.app.inject({ method, url: url(token) });
        expect(res.statusCode, `${method} ${token}`).toBe(400);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      }
    }
    expect(await preferences(user)).toEqual(ALL_ON);
  });

  it('answers 404 for the token of an account that no longer exists', async () => {
    const token = tokens().create({ userId: 2_000_000_000, kind: 'new_comment' });
    expect((await t.app.inject({ method: 'POST', url: url(token) })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: url(token) })).statusCode).toBe(404);
  });

  it('answers 422 without a token and for an oversized one', async () => {
    expect((await t.app.inject({ method: 'POST', url: '/api/notifications/unsubscribe' })).statusCode).toBe(
      422,
    );
    expect((await t.app.inject({ method: 'GET', url: url('x'.repeat(300)) })).statusCode).toBe(422);
  });
});

describe('embedded mode (no SMTP_URL)', () => {
  it('writes the emails a request causes as .eml files under DATA_DIR/mail', async () => {
    const user = await insertUser(t);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/forgot-password',
      payload: { email: user.email },
    });
    expect(res.statusCode).toBe(202);
    // Delivery runs in the job queue after the response: wait for the row to be sent.
    const [row] = await emailRowsTo(t.deps.database.db, user.email);
    await waitForEmailRows(t.deps.database.db, [row?.id ?? 0], { status: 'sent' });
    const directory = path.join(t.dataDir, 'mail');
    const files = readdirSync(directory).filter((name) => name.endsWith('.eml'));
    const written = files.map((name) => readFileSync(path.join(directory, name), 'utf8'));
    const mine = written.filter((raw) => raw.includes(`To: ${user.email}`));
    expect(mine).toHaveLength(1);
    expect(mine[0]).toContain('Subject: Reset your Conduit password');

    const log = await t.app.inject({
      method: 'GET',
      url: `/api/admin/emails?to=${encodeURIComponent(user.email)}`,
      headers: (await insertUser(t, { role: 'admin' })).headers,
    });
    expect(log.json().emails).toMatchObject([{ template: 'reset-password', status: 'sent' }]);
  });
});
