import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../support/app.js';
import { register } from '../users/helpers.js';

/** Every auth flow at the most verbose level, then a look for secrets in what was logged. */
const lines: string[] = [];
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp(
    { LOG_LEVEL: 'trace' },
    { logStream: { write: (line: string) => lines.push(line) } },
  );
});
afterAll(() => t.close());

const form = (url: string, fields: Record<string, string>) =>
  t.app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams(fields).toString(),
  });

describe('auth logging', () => {
  it('never writes a password, a hash or a token', async () => {
    const user = await register(t.app);
    const secrets = [user.password, user.token, '$argon2', 'a brand new password'];
    await t.app.inject({
      method: 'POST',
      url: '/api/users/login',
      payload: { user: { email: user.email, password: 'wrong password here' } },
    });
    secrets.push('wrong password here');
    const granted = await form('/api/auth/token', {
      grant_type: 'password',
      username: user.email,
      password: user.password,
    });
    const { access_token, refresh_token } = granted.json();
    const rotated = (await form('/api/auth/token', { grant_type: 'refresh_token', refresh_token })).json();
    await form('/api/auth/token', { grant_type: 'refresh_token', refresh_token }); // reuse
    await form('/api/auth/revoke', { token: rotated.refresh_token });
    await t.app.inject({
      method: 'PUT',
      url: '/api/user',
      headers: { authorization: `Bearer ${access_token}` },
      payload: { user: { password: 'a brand new password' } },
    });
    secrets.push(access_token, refresh_token, rotated.refresh_token, rotated.access_token);

    // Every request above was logged (one access line each, and register's), so the check is real.
    expect(lines.filter((line) => line.includes('"request completed"')).length).toBeGreaterThanOrEqual(7);
    const log = lines.join('\n');
    for (const secret of secrets) expect(log).not.toContain(secret);
  });
});
