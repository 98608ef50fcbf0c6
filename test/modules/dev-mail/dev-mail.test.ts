import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emailRowsTo, waitForEmailRows } from '../../email/wait.js';
import { createTestApp, type TestApp } from '../../support/app.js';

// The embedded mode: no SMTP_URL, so the app writes .eml files under DATA_DIR/mail and serves them.
let t: TestApp;
const APP_URL = 'http://127.0.0.1:3999';

beforeAll(async () => {
  t = await createTestApp({ APP_URL });
});
afterAll(() => t?.close());

/** Registers through HTTP and waits until the app has written the verification email. */
async function register(username: string) {
  const email = `${username}@example.com`;
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/users',
    payload: { user: { username, email, password: 'correct horse battery' } },
  });
  expect(res.statusCode).toBe(201);
  const rows = await emailRowsTo(t.deps.database.db, email);
  await waitForEmailRows(
    t.deps.database.db,
    rows.map((row) => row.id),
    { status: 'sent' },
  );
  return { email, token: res.json().user.token as string };
}

function unescapeHtml(value: string): string {
  return value.replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&amp;', '&');
}

const ids = (body: string) => [...body.matchAll(/href="\/dev\/mail\/([^"/]+)"/g)].map((m) => m[1]);

describe('GET /dev/mail (outside production)', () => {
  it('lists the written emails newest first with subject, recipient and template', async () => {
    await register('first_reader');
    await register('second_reader');
    const res = await t.app.inject({ method: 'GET', url: '/dev/mail' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    const second = res.body.indexOf('second_reader@example.com');
    const first = res.body.indexOf('first_reader@example.com');
    expect(second).toBeGreaterThan(0);
    expect(first).toBeGreaterThan(second);
    expect(res.body).toContain('Confirm your email address');
    expect(res.body).toContain('verify-email');
    expect(ids(res.body).length).toBeGreaterThanOrEqual(2);
  });

  it('shows an email with decoded, working links: following the verification link verifies the address', async () => {
    const { email, token } = await register('link_follower');
    const list = await t.app.inject({ method: 'GET', url: '/dev/mail' });
    const [id] = ids(list.body);
    expect(id).toBeDefined();

    // The file's links are quoted-printable (`token=3D…`); the page shows them as they are.
    const raw = readFileSync(path.join(t.dataDir, 'mail', `${id}.eml`), 'utf8');
    expect(raw).toContain('Content-Transfer-Encoding: quoted-printable');
    expect(raw).toContain('token=3D');

    const page = await t.app.inject({ method: 'GET', url: `/dev/mail/${id}` });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain(email);
    expect(page.body).toContain('Confirm your email address');
    // The HTML part in a sandbox without scripts, the plain text, the headers.
    expect(page.body).toMatch(
      /<iframe[^>]* sandbox="allow-popups allow-popups-to-escape-sandbox"[^>]* srcdoc="/,
    );
    expect(page.body).not.toContain('allow-scripts');
    expect(page.body).toContain(
      'Welcome to Conduit! Please confirm your email address by opening this link:',
    );
    expect(page.body).toMatch(/<th>Message-ID<\/th>/i);
    expect(page.body).toMatch(/<th>X-Conduit-Template<\/th><td>verify-email<\/td>/i);

    const links = [...page.body.matchAll(/<li><a href="([^"]+)"/g)].map((m) => unescapeHtml(m[1] ?? ''));
    const verify = links.find((link) => link.startsWith(`${APP_URL}/api/auth/verify-email?token=`));
    expect(verify).toBeDefined();
    const opened = await t.app.inject({
      method: 'GET',
      url: (verify ?? '').slice(APP_URL.length),
      headers: { accept: 'text/html' },
    });
    expect(opened.statusCode).toBe(200);
    expect(opened.body).toContain('Address verified');
    const me = await t.app.inject({
      method: 'GET',
      url: '/api/user',
      headers: { authorization: `Token ${token}` },
    });
    expect(me.json().user.emailVerified).toBe(true);

    const rawPage = await t.app.inject({ method: 'GET', url: `/dev/mail/${id}/raw` });
    expect(rawPage.statusCode).toBe(200);
    expect(rawPage.headers['content-type']).toMatch(/^text\/plain/);
    expect(rawPage.body).toBe(raw);
  });

  it('answers an unknown id 404 and never reads outside the mail directory', async () => {
    expect(
      (await t.app.inject({ method: 'GET', url: '/dev/mail/2026-01-01T00-00-00.000Z-deadbeef' })).statusCode,
    ).toBe(404);
    for (const url of [
      '/dev/mail/..%2Fjwt-secret',
      '/dev/mail/..%2F..%2Fetc%2Fpasswd/raw',
      '/dev/mail/.hidden',
    ]) {
      const res = await t.app.inject({ method: 'GET', url });
      expect([404, 422]).toContain(res.statusCode);
      expect(res.body).not.toContain(t.config.jwtSecret);
    }
  });
});

describe('/dev/mail in production', () => {
  it('does not exist', async () => {
    const app = await createTestApp({ NODE_ENV: 'production' });
    try {
      for (const url of ['/dev/mail', '/dev/mail/anything', '/dev/mail/anything/raw']) {
        const res = await app.app.inject({ method: 'GET', url });
        expect(res.statusCode).toBe(404);
      }
    } finally {
      await app.close();
    }
  });
});
