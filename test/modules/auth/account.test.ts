import { createHash } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emailLog, emailTokens } from '../../../src/db/schema.js';
import { queueVerificationEmail } from '../../../src/modules/auth/account-service.js';
import { insertUser as insertAccount, prepareNewUser } from '../../../src/modules/users/service.js';
import { runWrite } from '../../../src/unit-of-work.js';
import { createTestApp, type TestApp } from '../../support/app.js';
import { type Inbox, type InboxServer, type ReceivedEmail, startInboxServer } from '../../support/inbox.js';
import { insertUser } from '../../support/users.js';

let mail: InboxServer;
let t: TestApp;
const APP_URL = 'https://conduit.example';

beforeAll(async () => {
  mail = await startInboxServer();
  t = await createTestApp({ SMTP_URL: mail.url, APP_URL });
});
afterAll(async () => {
  await t?.close();
  await mail?.close();
});

/** The path and query of the link in an email that starts with `prefix`, to follow with inject. */
function linkIn(email: ReceivedEmail, prefix: string): string {
  const link = email.links.find((candidate) => candidate.startsWith(`${APP_URL}${prefix}`));
  if (!link) throw new Error(`no ${prefix} link in: ${email.text}`);
  return link.slice(APP_URL.length);
}

/** What the database holds for a token (its SHA-256), to age or expire it without waiting. */
const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');
const tokenOf = (path: string) => new URL(path, APP_URL).searchParams.get('token') ?? '';

async function registerWithVerification(inbox: Inbox, password = 'correct horse battery') {
  const username = `u${inbox.id.slice(0, 10)}`;
  const prepared = await prepareNewUser(t.deps.database.db, {
    username,
    email: inbox.emailAddress,
    password,
  });
  const { user, emailId } = await runWrite(t.deps.writes, async (uow) => {
    const created = await insertAccount(uow, prepared);
    return { user: created, emailId: await queueVerificationEmail(uow, created) };
  });
  const token = await t.deps.accessTokens.signSession(user);
  return { user, emailId, headers: { authorization: `Token ${token}` }, password };
}

async function emailVerified(headers: { authorization: string }): Promise<boolean> {
  const res = await t.app.inject({ method: 'GET', url: '/api/user', headers });
  expect(res.statusCode).toBe(200);
  return res.json().user.emailVerified;
}

describe('address verification', () => {
  it('the emailed link verifies the address, shows a page, and works once', async () => {
    const inbox = mail.createInbox();
    const { headers, user } = await registerWithVerification(inbox);
    const email = await mail.waitForLatestEmail(inbox, 5000);
    expect(email.to).toEqual([inbox.emailAddress]);
    expect(email.subject).toBe('Confirm your email address');
    expect(email.text).toContain(`Hi ${user.username},`);
    expect(await emailVerified(headers)).toBe(false);

    const link = linkIn(email, '/api/auth/verify-email?token=');
    const res = await t.app.inject({ method: 'GET', url: link });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toContain('Address verified');
    expect(await emailVerified(headers)).toBe(true);

    const again = await t.app.inject({ method: 'GET', url: link });
    expect(again.statusCode).toBe(400);
    expect(again.body).toContain('Link not valid');
  });

  it('stores only a hash of the token', async () => {
    const inbox = mail.createInbox();
    const { user } = await registerWithVerification(inbox);
    const token = tokenOf(linkIn(await mail.waitForLatestEmail(inbox, 5000), '/api/auth/verify-email'));
    const rows = await t.deps.database.db.select().from(emailTokens).where(eq(emailTokens.userId, user.id));
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(token);
    const logged = await t.deps.database.db.select().from(emailLog).where(eq(emailLog.userId, user.id));
    expect(JSON.stringify(logged)).not.toContain(token);
  });

  it('resend: a new link arrives, the old one stops working, and a resend right after is refused', async () => {
    const inbox = mail.createInbox();
    const { headers, emailId } = await registerWithVerification(inbox);
    const first = linkIn(await mail.waitForLatestEmail(inbox, 5000), '/api/auth/verify-email');
    // Let the interval pass without waiting: age the first token.
    await t.deps.database.db
      .update(emailTokens)
      .set({ createdAt: sql`now() - interval '5 minutes'` })
      .where(eq(emailTokens.tokenHash, hashOf(tokenOf(first))));

    const res = await t.app.inject({ method: 'POST', url: '/api/auth/verify-email/resend', headers });
    expect(res.statusCode).toBe(202);
    const second = linkIn(await mail.waitForLatestEmail(inbox, 5000), '/api/auth/verify-email');
    expect(second).not.toBe(first);
    expect(emailId).toEqual(expect.any(Number));

    const tooSoon = await t.app.inject({ method: 'POST', url: '/api/auth/verify-email/resend', headers });
    expect(tooSoon.statusCode).toBe(429);
    expect(Number(tooSoon.headers['retry-after'])).toBeGreaterThan(0);

    expect((await t.app.inject({ method: 'GET', url: first })).statusCode).toBe(400);
    expect(await emailVerified(headers)).toBe(false);
    expect((await t.app.inject({ method: 'GET', url: second })).statusCode).toBe(200);
    expect(await emailVerified(headers)).toBe(true);

    const done = await t.app.inject({ method: 'POST', url: '/api/auth/verify-email/resend', headers });
    expect(done.statusCode).toBe(409);
  });

  it('resend needs a login', async () => {
    expect((await t.app.inject({ method: 'POST', url: '/api/auth/verify-email/resend' })).statusCode).toBe(
      401,
    );
  });

  it('refuses a link for an address the account no longer has', async () => {
    const inbox = mail.createInbox();
    const { headers, user } = await registerWithVerification(inbox);
    const link = linkIn(await mail.waitForLatestEmail(inbox, 5000), '/api/auth/verify-email');
    await t.app.inject({
      method: 'PUT',
      url: '/api/user',
      headers,
      payload: { user: { email: `changed-${user.username}@example.com` } },
    });
    expect((await t.app.inject({ method: 'GET', url: link })).statusCode).toBe(400);
    expect(await emailVerified(headers)).toBe(false);
  });

  it('refuses a made-up token', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/auth/verify-email?token=made-up' });
    expect(res.statusCode).toBe(400);
  });
});

describe('password reset', () => {
  async function forgot(email: string) {
    return t.app.inject({ method: 'POST', url: '/api/auth/forgot-password', payload: { email } });
  }

  async function login(email: string, password: string) {
    return t.app.inject({ method: 'POST', url: '/api/users/login', payload: { user: { email, password } } });
  }

  it('answers the same for known and unknown addresses, and only the known one gets an email', async () => {
    const inbox = mail.createInbox();
    await registerWithVerification(inbox);
    await mail.waitForLatestEmail(inbox, 5000);
    const known = await forgot(inbox.emailAddress.toUpperCase());
    const unknownAddress = mail.createInbox();
    const unknown = await forgot(unknownAddress.emailAddress);
    expect(known.statusCode).toBe(202);
    expect(unknown.statusCode).toBe(202);
    expect(unknown.body).toBe(known.body);

    const email = await mail.waitForLatestEmail(inbox, 5000);
    expect(email.subject).toBe('Reset your Conduit password');
    expect(email.text).toContain('expires in 30 minutes');
    const logged = await t.deps.database.db
      .select()
      .from(emailLog)
      .where(eq(emailLog.recipient, unknownAddress.emailAddress));
    expect(logged).toEqual([]);
  });

  it('the link opens a form; posting it sets the password once and ends every session', async () => {
    const inbox = mail.createInbox();
    const { password, headers } = await registerWithVerification(inbox);
    await mail.waitForLatestEmail(inbox, 5000);
    expect((await t.app.inject({ method: 'GET', url: '/api/user', headers })).statusCode).toBe(200);
    // A session from before the reset (an OAuth2 refresh token).
    const session = await t.app.inject({
      method: 'POST',
      url: '/api/auth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        grant_type: 'password',
        username: inbox.emailAddress,
        password,
      }).toString(),
    });
    expect(session.statusCode).toBe(200);
    const refreshToken = session.json().refresh_token;

    await forgot(inbox.emailAddress);
    const link = linkIn(await mail.waitForLatestEmail(inbox, 5000), '/api/auth/reset-password?token=');
    const page = await t.app.inject({ method: 'GET', url: link });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('<form method="post" action="reset-password">');
    expect(page.body).toContain(`name="token" value="${tokenOf(link)}"`);

    const reset = await t.app.inject({
      method: 'POST',
      url: '/api/auth/reset-password',
      payload: { token: tokenOf(link), password: 'a brand new passphrase' },
    });
    expect(reset.statusCode).toBe(200);
    expect(reset.json().message).toMatch(/password was changed/);

    expect((await login(inbox.emailAddress, password)).statusCode).not.toBe(200);
    const signedIn = await login(inbox.emailAddress, 'a brand new passphrase');
    expect(signedIn.statusCode).toBe(200);
    // The RealWorld token from before the reset is revoked; the new login's token works.
    const before = await t.app.inject({ method: 'GET', url: '/api/user', headers });
    expect(before.statusCode).toBe(401);
    expect(before.json().detail).toBe('The access token was revoked');
    const after = { authorization: `Token ${signedIn.json().user.token}` };
    expect((await t.app.inject({ method: 'GET', url: '/api/user', headers: after })).statusCode).toBe(200);
    const refreshed = await t.app.inject({
      method: 'POST',
      url: '/api/auth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString(),
    });
    expect(refreshed.statusCode).toBe(400);

    const reused = await t.app.inject({
      method: 'POST',
      url: '/api/auth/reset-password',
      payload: { token: tokenOf(link), password: 'yet another passphrase' },
    });
    expect(reused.statusCode).toBe(400);
    expect((await t.app.inject({ method: 'GET', url: link })).statusCode).toBe(400);
  });

  it('the page form (url-encoded, from a browser) gets a page back', async () => {
    const inbox = mail.createInbox();
    await registerWithVerification(inbox);
    await mail.waitForLatestEmail(inbox, 5000);
    await forgot(inbox.emailAddress);
    const token = tokenOf(linkIn(await mail.waitForLatestEmail(inbox, 5000), '/api/auth/reset-password'));
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/reset-password',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html,*/*;q=0.8' },
      payload: new URLSearchParams({ token, password: 'form posted passphrase' }).toString(),
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toContain('Password changed');
    expect((await login(inbox.emailAddress, 'form posted passphrase')).statusCode).toBe(200);
  });

  it('refuses an expired link, and a password the policy refuses', async () => {
    const inbox = mail.createInbox();
    await registerWithVerification(inbox);
    await mail.waitForLatestEmail(inbox, 5000);
    await forgot(inbox.emailAddress);
    const link = linkIn(await mail.waitForLatestEmail(inbox, 5000), '/api/auth/reset-password');
    const token = tokenOf(link);

    const weak = await t.app.inject({
      method: 'POST',
      url: '/api/auth/reset-password',
      payload: { token, password: 'short' },
    });
    expect(weak.statusCode).toBe(422);

    await t.deps.database.db
      .update(emailTokens)
      .set({ expiresAt: sql`now() - interval '1 second'` })
      .where(eq(emailTokens.tokenHash, hashOf(token)));
    expect((await t.app.inject({ method: 'GET', url: link })).statusCode).toBe(400);
    const expired = await t.app.inject({
      method: 'POST',
      url: '/api/auth/reset-password',
      payload: { token, password: 'long enough passphrase' },
    });
    expect(expired.statusCode).toBe(400);
    expect(expired.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('a second request within a minute sends nothing more (and still answers the same)', async () => {
    const inbox = mail.createInbox();
    await insertUser(t, { email: inbox.emailAddress });
    expect((await forgot(inbox.emailAddress)).statusCode).toBe(202);
    await mail.waitForLatestEmail(inbox, 5000);
    expect((await forgot(inbox.emailAddress)).statusCode).toBe(202);
    const rows = await t.deps.database.db
      .select()
      .from(emailLog)
      .where(eq(emailLog.recipient, inbox.emailAddress));
    expect(rows).toHaveLength(1);
  });
});
