import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { users } from '../../src/db/schema.js';
import type { TestApp } from './app.js';

export interface TestUser {
  id: number;
  email: string;
  username: string;
  role: 'user' | 'admin';
  /** A valid access token: send as `Authorization: Token <token>`. */
  token: string;
  headers: { authorization: string };
}

/**
 * Inserts a user straight into the database (no argon2 cost) and signs a real access token for it.
 * For suites about something else than registration; auth suites go through HTTP.
 */
export async function insertUser(
  t: TestApp,
  fields: Partial<{
    username: string;
    email: string;
    role: 'user' | 'admin';
    bio: string;
    image: string;
  }> = {},
): Promise<TestUser> {
  const suffix = randomBytes(4).toString('hex');
  const username = fields.username ?? `user_${suffix}`;
  const email = fields.email ?? `${username.toLowerCase()}@example.com`;
  const [row] = await t.deps.database.db
    .insert(users)
    .values({
      username,
      email,
      passwordHash: 'not-a-real-hash',
      role: fields.role ?? 'user',
      bio: fields.bio ?? null,
      image: fields.image ?? null,
    })
    .returning({ id: users.id });
  if (!row) throw new Error('insertUser: no row');
  const token = await t.deps.accessTokens.signSession({ id: row.id, tokenVersion: 0 });
  return {
    id: row.id,
    email,
    username,
    role: fields.role ?? 'user',
    token,
    headers: { authorization: `Token ${token}` },
  };
}

/**
 * `user` with a token for the account's current token version: a test that changes the password
 * or signs out everywhere (a fuzz may do either) keeps a working token.
 */
export async function withFreshToken(t: TestApp, user: TestUser): Promise<TestUser> {
  const [row] = await t.deps.database.db
    .select({ tokenVersion: users.tokenVersion })
    .from(users)
    .where(eq(users.id, user.id));
  if (!row) throw new Error('withFreshToken: no such user');
  const token = await t.deps.accessTokens.signSession({ id: user.id, tokenVersion: row.tokenVersion });
  return { ...user, token, headers: { authorization: `Token ${token}` } };
}
