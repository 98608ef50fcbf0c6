import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMail } from '../../../src/modules/dev-mail/service.js';
import { emailRowsTo, waitForEmailRows } from '../../email/wait.js';
import { createTestApp, type TestApp } from '../../support/app.js';
import { insertUser } from '../../support/users.js';

// FRONTEND_URL set, embedded mail: the emails the app really writes link to the frontend's routes.
let t: TestApp;
const APP_URL = 'https://api.example';
const FRONTEND = 'https://app.example/#';

beforeAll(async () => {
  t = await createTestApp({ APP_URL, FRONTEND_URL: FRONTEND, FRONTEND_PROFILE_PATH: '/@:username' });
});
afterAll(() => t?.close());

/** The written email (its id is the .eml name) of the last row sent to `address`. */
async function lastEmailTo(address: string) {
  const rows = await emailRowsTo(t.deps.database.db, address);
  const [row] = await waitForEmailRows(
    t.deps.database.db,
    rows.slice(-1).map((r) => r.id),
    { status: 'sent' },
  );
  const files = (await t.app.inject({ method: 'GET', url: '/dev/mail' })).body;
  const ids = [...files.matchAll(/href="\/dev\/mail\/([^"/]+)"/g)].map((m) => m[1] ?? '');
  for (const id of ids) {
    const mail = await readMail(t.dataDir, id);
    if (
      mail.headers.some(
        ([name, value]) => name.toLowerCase() === 'message-id' && value === row?.providerMessageId,
      )
    )
      return mail;
  }
  throw new Error(`no written email to ${address}`);
}

describe('email links with FRONTEND_URL', () => {
  it('a new follower email links to the frontend’s profile route and settings', async () => {
    const followed = await insertUser(t);
    const follower = await insertUser(t, { username: `fan_${Date.now()}` });
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/profiles/${followed.username}/follow`,
      headers: follower.headers,
    });
    expect(res.statusCode).toBe(200);
    const mail = await lastEmailTo(followed.email);
    expect(mail.links).toContain(`${FRONTEND}/@${follower.username}`);
    expect(mail.links).toContain(`${FRONTEND}/settings`);
    // Unsubscribing stays on the API (it owns the signed token); its page links to the settings too.
    const unsubscribe = mail.links.find((link) =>
      link.startsWith(`${APP_URL}/api/notifications/unsubscribe?`),
    );
    const page = await t.app.inject({ method: 'GET', url: (unsubscribe ?? '').slice(APP_URL.length) });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain(`href="${FRONTEND}/settings"`);
  });

  it('the verification page links back to the frontend’s login', async () => {
    const email = `verifier_${Date.now()}@example.com`;
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/users',
      payload: { user: { username: `verifier_${Date.now()}`, email, password: 'correct horse battery' } },
    });
    expect(res.statusCode).toBe(201);
    const mail = await lastEmailTo(email);
    const verify = mail.links.find((link) => link.startsWith(`${APP_URL}/api/auth/verify-email?token=`));
    expect(verify).toBeDefined();
    const page = await t.app.inject({ method: 'GET', url: (verify ?? '').slice(APP_URL.length) });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Address verified');
    expect(page.body).toContain(`href="${FRONTEND}/login"`);
  });

  it('the password-changed page links back to the frontend’s login', async () => {
    const user = await insertUser(t);
    await t.app.inject({ method: 'POST', url: '/api/auth/forgot-password', payload: { email: user.email } });
    const mail = await lastEmailTo(user.email);
    const reset = mail.links.find((link) => link.startsWith(`${APP_URL}/api/auth/reset-password?token=`));
    const token = new URL(reset ?? 'https://x').searchParams.get('token') ?? '';
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/reset-password',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      payload: new URLSearchParams({ token, password: 'a brand new password' }).toString(),
    });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('Password changed');
    expect(res.body).toContain(`href="${FRONTEND}/login"`);
  });
});
