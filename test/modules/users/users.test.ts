import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { users } from '../../../src/db/schema.js';
import { markEmailVerified } from '../../../src/modules/auth/account-service.js';
import { createTestApp, type TestApp } from '../../support/app.js';
import { expectNoHash, newUserFields, register } from './helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const auth = (token: string, scheme = 'Token') => ({ authorization: `${scheme} ${token}` });

async function roleOf(email: string) {
  const [row] = await t.deps.database.db
    .select({ role: users.role, passwordHash: users.passwordHash })
    .from(users)
    .where(eq(users.email, email));
  return row;
}

describe('POST /api/users (register)', () => {
  it('answers 201 with the RealWorld user object, a working token and no hash', async () => {
    const fields = newUserFields();
    const res = await t.app.inject({ method: 'POST', url: '/api/users', payload: { user: fields } });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({
      user: {
        email: fields.email,
        username: fields.username,
        token: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
        bio: null,
        // No image yet: the API's own default avatar (src/modules/profiles/avatar.ts).
        image: `${t.config.appUrl}/avatars/default.svg`,
        emailVerified: false,
      },
    });
    expectNoHash(res.body);
    const me = await t.app.inject({ method: 'GET', url: '/api/user', headers: auth(res.json().user.token) });
    expect(me.statusCode).toBe(200);
    expect(me.json().user.username).toBe(fields.username);
  });

  it('stores the password as an argon2id hash with at least the OWASP parameters', async () => {
    const user = await register(t.app);
    const row = await roleOf(user.email);
    const match = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(row?.passwordHash ?? '');
    expect(match).not.toBeNull();
    const [, m, tCost, p] = (match ?? []).map(Number);
    expect(m).toBeGreaterThanOrEqual(19_456);
    expect(tCost).toBeGreaterThanOrEqual(2);
    expect(p).toBeGreaterThanOrEqual(1);
  });

  it('trims and lower-cases the email', async () => {
    const fields = newUserFields();
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/users',
      payload: { user: { ...fields, email: `  ${fields.email.toUpperCase()}  ` } },
    });
    expect(res.statusCode).toBe(201);
    expect(res.json().user.email).toBe(fields.email);
  });

  it('refuses a taken email, whatever its case, naming the field', async () => {
    const existing = await register(t.app);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/users',
      payload: { user: newUserFields({ email: existing.email.toUpperCase() }) },
    });
    expect(res.statusCode).toBe(422);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json().errors).toEqual({ email: ['has already been taken'] });
  });

  it('refuses a taken username, whatever its case, naming the field', async () => {
    const existing = await register(t.app);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/users',
      payload: { user: newUserFields({ username: existing.username.toUpperCase() }) },
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().errors).toEqual({ username: ['has already been taken'] });
  });

  it('names both fields when both are taken', async () => {
    const existing = await register(t.app);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/users',
      payload: { user: { ...newUserFields(), email: existing.email, username: existing.username } },
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().errors).toEqual({
      email: ['has already been taken'],
      username: ['has already been taken'],
    });
  });

  it.each([
    ['a username that is too short', { username: 'ab' }, 'username'],
    ['a username that is too long', { username: 'a'.repeat(33) }, 'username'],
    ['a username with other characters', { username: 'bad name!' }, 'username'],
    ['a username that looks like an email', { username: 'me@example.com' }, 'username'],
    ['an address that is not an email', { email: 'not-an-email' }, 'email'],
    ['an email over 254 characters', { email: `${'a'.repeat(250)}@example.com` }, 'email'],
    ['a password under 8 characters', { password: 'short' }, 'password'],
    ['a password over 256 characters', { password: 'p'.repeat(257) }, 'password'],
  ])('refuses %s with 422 naming the field', async (_, override, field) => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/users',
      payload: { user: { ...newUserFields(), ...override } },
    });
    expect(res.statusCode).toBe(422);
    expect(Object.keys(res.json().errors)).toEqual([field]);
  });

  it('accepts a password of exactly 256 characters', async () => {
    const user = await register(t.app, { password: 'p'.repeat(256) });
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/users/login',
      payload: { user: { email: user.email, password: user.password } },
    });
    expect(res.statusCode).toBe(200);
  });

  it('ignores a role sent at registration', async () => {
    const fields = newUserFields();
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/users',
      payload: { user: { ...fields, role: 'admin' } },
    });
    expect(res.statusCode).toBe(201);
    expect((await roleOf(fields.email))?.role).toBe('user');
  });
});

describe('POST /api/users/login', () => {
  it('logs in with the email in any case and answers the user with a fresh token', async () => {
    const user = await register(t.app);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/users/login',
      payload: { user: { email: ` ${user.email.toUpperCase()}`, password: user.password } },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().user).toMatchObject({
      email: user.email,
      username: user.username,
      emailVerified: false,
    });
    expectNoHash(res.body);
  });

  it('answers an unknown email and a wrong password with the same status, headers and body', async () => {
    const user = await register(t.app);
    const wrongPassword = await t.app.inject({
      method: 'POST',
      url: '/api/users/login',
      payload: { user: { email: user.email, password: 'not the password' } },
    });
    const unknownAccount = await t.app.inject({
      method: 'POST',
      url: '/api/users/login',
      payload: { user: { email: 'nobody-here@example.com', password: 'not the password' } },
    });
    expect(wrongPassword.statusCode).toBe(401);
    expect(unknownAccount.statusCode).toBe(401);
    expect(unknownAccount.body).toBe(wrongPassword.body);
    expect(unknownAccount.headers['www-authenticate']).toBe(wrongPassword.headers['www-authenticate']);
    expect(wrongPassword.json().errors).toEqual({ 'email or password': ['is invalid'] });
  });

  it('refuses a password over 256 characters before checking it', async () => {
    const user = await register(t.app);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/users/login',
      payload: { user: { email: user.email, password: 'p'.repeat(257) } },
    });
    expect(res.statusCode).toBe(422);
    expect(Object.keys(res.json().errors)).toEqual(['password']);
  });
});

describe('GET and PUT /api/user', () => {
  it('answers the current user with Token and with Bearer', async () => {
    const user = await register(t.app);
    for (const scheme of ['Token', 'Bearer']) {
      const res = await t.app.inject({ method: 'GET', url: '/api/user', headers: auth(user.token, scheme) });
      expect(res.statusCode).toBe(200);
      expect(res.json().user).toMatchObject({ email: user.email, username: user.username });
      expectNoHash(res.body);
    }
  });

  it('answers 401 with WWW-Authenticate without a token', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/user' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="conduit"/);
  });

  it('updates bio, image and username, and clears bio and image with null (then the default avatar shows)', async () => {
    const user = await register(t.app);
    const newName = `${user.username}_x`;
    const res = await t.app.inject({
      method: 'PUT',
      url: '/api/user',
      headers: auth(user.token),
      payload: {
        user: { bio: 'I like to skateboard', image: 'https://i.example.com/a.png', username: newName },
      },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().user).toMatchObject({
      username: newName,
      bio: 'I like to skateboard',
      image: 'https://i.example.com/a.png',
    });
    const cleared = await t.app.inject({
      method: 'PUT',
      url: '/api/user',
      headers: auth(user.token),
      payload: { user: { bio: null, image: '' } },
    });
    const defaultImage = `${t.config.appUrl}/avatars/default.svg`;
    expect(cleared.json().user).toMatchObject({ bio: null, image: defaultImage, username: newName });
    await t.app.inject({
      method: 'PUT',
      url: '/api/user',
      headers: auth(user.token),
      payload: { user: { image: 'https://i.example.com/b.png' } },
    });
    const nulled = await t.app.inject({
      method: 'PUT',
      url: '/api/user',
      headers: auth(user.token),
      payload: { user: { image: null } },
    });
    expect(nulled.json().user.image).toBe(defaultImage);
    const [row] = await t.deps.database.db
      .select({ image: users.image })
      .from(users)
      .where(eq(users.username, newName));
    expect(row?.image).toBeNull();
  });

  it('stores nothing when a client sends the default avatar back (a settings form saves every field)', async () => {
    const user = await register(t.app);
    const defaultImage = `${t.config.appUrl}/avatars/default.svg`;
    const res = await t.app.inject({
      method: 'PUT',
      url: '/api/user',
      headers: auth(user.token),
      payload: { user: { image: defaultImage, bio: 'saved from the settings page' } },
    });
    expect(res.json().user).toMatchObject({ image: defaultImage, bio: 'saved from the settings page' });
    const [row] = await t.deps.database.db
      .select({ image: users.image })
      .from(users)
      .where(eq(users.email, user.email));
    expect(row?.image).toBeNull();
  });

  it('ignores role, id and hash fields: the schema does not take them', async () => {
    const user = await register(t.app);
    const res = await t.app.inject({
      method: 'PUT',
      url: '/api/user',
      headers: auth(user.token),
      payload: { user: { bio: 'hi', role: 'admin', id: 1, passwordHash: 'x', password_hash: 'x' } },
    });
    expect(res.statusCode).toBe(200);
    const row = await roleOf(user.email);
    expect(row?.role).toBe('user');
    expect(row?.passwordHash).toMatch(/^\$argon2id\$/);
    const login = await t.app.inject({
      method: 'POST',
      url: '/api/users/login',
      payload: { user: { email: user.email, password: user.password } },
    });
    expect(login.statusCode).toBe(200);
  });

  it('normalises a new email, marks it unverified, and refuses one that is taken', async () => {
    const user = await register(t.app);
    const other = await register(t.app);
    const [row] = await t.deps.database.db
      .select({ id: users.id })
      .from(users)
      .where(eq(users.email, user.email));
    await markEmailVerified(t.deps.database.db, row?.id ?? 0);
    const verified = await t.app.inject({ method: 'GET', url: '/api/user', headers: auth(user.token) });
    expect(verified.json().user.emailVerified).toBe(true);

    const taken = await t.app.inject({
      method: 'PUT',
      url: '/api/user',
      headers: auth(user.token),
      payload: { user: { email: other.email.toUpperCase() } },
    });
    expect(taken.statusCode).toBe(422);
    expect(taken.json().errors).toEqual({ email: ['has already been taken'] });

    const same = await t.app.inject({
      method: 'PUT',
      url: '/api/user',
      headers: auth(user.token),
      payload: { user: { email: user.email.toUpperCase() } },
    });
    expect(same.json().user).toMatchObject({ email: user.email, emailVerified: true });

    const changed = await t.app.inject({
      method: 'PUT',
      url: '/api/user',
      headers: auth(user.token),
      payload: { user: { email: ` New-${user.email.toUpperCase()} ` } },
    });
    expect(changed.statusCode).toBe(200);
    expect(changed.json().user).toMatchObject({ email: `new-${user.email}`, emailVerified: false });
  });

  it('refuses a username another user holds in another case, but lets a user change their own case', async () => {
    const user = await register(t.app);
    const other = await register(t.app);
    const taken = await t.app.inject({
      method: 'PUT',
      url: '/api/user',
      headers: auth(user.token),
      payload: { user: { username: other.username.toUpperCase() } },
    });
    expect(taken.statusCode).toBe(422);
    expect(taken.json().errors).toEqual({ username: ['has already been taken'] });
    const own = await t.app.inject({
      method: 'PUT',
      url: '/api/user',
      headers: auth(user.token),
      payload: { user: { username: user.username.toUpperCase() } },
    });
    expect(own.statusCode).toBe(200);
    expect(own.json().user.username).toBe(user.username.toUpperCase());
  });

  it('changes the password: the old one stops working, the new one works', async () => {
    const user = await register(t.app);
    const res = await t.app.inject({
      method: 'PUT',
      url: '/api/user',
      headers: auth(user.token),
      payload: { user: { password: 'a brand new password' } },
    });
    expect(res.statusCode).toBe(200);
    expectNoHash(res.body.replace(/"token":"[^"]+"/, ''));
    const login = (password: string) =>
      t.app.inject({
        method: 'POST',
        url: '/api/users/login',
        payload: { user: { email: user.email, password } },
      });
    expect((await login(user.password)).statusCode).toBe(401);
    expect((await login('a brand new password')).statusCode).toBe(200);
  });

  it('refuses a new password outside 8–256 characters', async () => {
    const user = await register(t.app);
    for (const password of ['short', 'p'.repeat(257)]) {
      const res = await t.app.inject({
        method: 'PUT',
        url: '/api/user',
        headers: auth(user.token),
        payload: { user: { password } },
      });
      expect(res.statusCode).toBe(422);
      expect(Object.keys(res.json().errors)).toEqual(['password']);
    }
  });

  it('answers 401 once the user is deleted, even with an unexpired token', async () => {
    const user = await register(t.app);
    await t.deps.database.db.delete(users).where(eq(users.email, user.email));
    const res = await t.app.inject({ method: 'GET', url: '/api/user', headers: auth(user.token) });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/error="invalid_token"/);
  });
});
