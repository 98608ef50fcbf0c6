import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { users } from '../../../src/db/schema.js';
import { ensureAdminAccount } from '../../../src/modules/users/service.js';
import { createTestApp, type TestApp } from '../../support/app.js';
import { register } from './helpers.js';

/** What server.ts runs at start when ADMIN_EMAIL and ADMIN_PASSWORD are set. */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

async function accounts(email: string) {
  return t.deps.database.db
    .select({ role: users.role, username: users.username, verified: users.emailVerifiedAt })
    .from(users)
    .where(eq(sql`lower(${users.email})`, email.toLowerCase()));
}

const login = (email: string, password: string) =>
  t.app.inject({ method: 'POST', url: '/api/users/login', payload: { user: { email, password } } });

describe('ensureAdminAccount', () => {
  it('creates the admin (verified, normalised email), who can log in; again it changes nothing', async () => {
    const admin = { email: ' Boss@Example.com ', password: 'a strong admin password' };
    expect(await ensureAdminAccount(t.deps.database.db, admin)).toBe('created');
    const rows = await accounts('boss@example.com');
    expect(rows).toEqual([{ role: 'admin', username: 'boss', verified: expect.any(Date) }]);
    const res = await login('boss@example.com', admin.password);
    expect(res.statusCode).toBe(200);
    expect(res.json().user).toMatchObject({ email: 'boss@example.com', emailVerified: true });

    expect(await ensureAdminAccount(t.deps.database.db, admin)).toBe('unchanged');
    expect(await accounts('boss@example.com')).toHaveLength(1);
  });

  it('promotes an existing account without touching its password', async () => {
    const user = await register(t.app);
    expect(
      await ensureAdminAccount(t.deps.database.db, { email: user.email, password: 'the env password' }),
    ).toBe('promoted');
    expect((await accounts(user.email))[0]?.role).toBe('admin');
    expect((await login(user.email, user.password)).statusCode).toBe(200);
    expect((await login(user.email, 'the env password')).statusCode).toBe(401);
    expect(
      await ensureAdminAccount(t.deps.database.db, { email: user.email, password: 'the env password' }),
    ).toBe('unchanged');
  });

  it('picks a free username when the email local part is taken', async () => {
    const user = await register(t.app);
    const email = `${user.username.toUpperCase()}@admins.example.com`;
    expect(await ensureAdminAccount(t.deps.database.db, { email, password: 'a strong admin password' })).toBe(
      'created',
    );
    expect((await accounts(email))[0]?.username).toBe(`${user.username}-1`);
  });
});
