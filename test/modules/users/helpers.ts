import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';

export interface RegisteredUser {
  email: string;
  username: string;
  password: string;
  token: string;
}

/** Unique, valid registration fields. */
export function newUserFields(
  overrides: Partial<{ email: string; username: string; password: string }> = {},
) {
  const suffix = randomBytes(4).toString('hex');
  return {
    username: `u_${suffix}`,
    email: `u_${suffix}@example.com`,
    password: `correct horse ${suffix}`,
    ...overrides,
  };
}

/** Registers through HTTP, as a client would. */
export async function register(
  app: FastifyInstance,
  overrides: Partial<{ email: string; username: string; password: string }> = {},
): Promise<RegisteredUser> {
  const fields = newUserFields(overrides);
  const res = await app.inject({ method: 'POST', url: '/api/users', payload: { user: fields } });
  expect(res.statusCode, res.body).toBe(201);
  return { ...fields, email: fields.email.trim().toLowerCase(), token: res.json().user.token };
}

/** No response may ever carry a password hash. */
export function expectNoHash(body: string): void {
  expect(body).not.toMatch(/\$argon2/);
  expect(body).not.toMatch(/password/i);
}
