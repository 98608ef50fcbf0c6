import { describe, expect, it } from 'vitest';
import { redactSecrets } from '../src/logger.js';

describe('redactSecrets (every log line goes through it)', () => {
  it('censors secret keys at any depth and in arrays, whatever their case', () => {
    const logged = {
      headers: { Authorization: 'Token jwt', cookie: 'sid=1', accept: 'application/json' },
      body: { user: { password: 'p', email: 'e@x' }, refresh_token: 'r' },
      list: [{ passwordHash: '$argon2id$...' }, 'plain'],
      deep: { a: { b: { c: { token: 't' } } } },
    };
    expect(redactSecrets(logged)).toEqual({
      headers: { Authorization: '[redacted]', cookie: '[redacted]', accept: 'application/json' },
      body: { user: { password: '[redacted]', email: 'e@x' }, refresh_token: '[redacted]' },
      list: [{ passwordHash: '[redacted]' }, 'plain'],
      deep: { a: { b: { c: { token: '[redacted]' } } } },
    });
  });

  it("never changes the caller's object, and copies nothing when nothing is secret", () => {
    const body = { user: { password: 'p' } };
    const clean = { req: { method: 'GET', url: '/api/articles' }, res: { statusCode: 200 } };
    redactSecrets({ body });
    expect(body.user.password).toBe('p');
    expect(redactSecrets(clean)).toBe(clean);
  });

  it('leaves class instances (errors, requests) to their serializers, and stops at a depth', () => {
    const error = Object.assign(new Error('boom'), { token: 'kept for the err serializer' });
    expect((redactSecrets({ err: error }) as { err: Error }).err).toBe(error);
    const cycle: Record<string, unknown> = { password: 'p' };
    cycle.self = cycle;
    expect(() => redactSecrets(cycle)).not.toThrow();
  });
});
