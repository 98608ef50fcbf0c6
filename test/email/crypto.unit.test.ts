import { describe, expect, it } from 'vitest';
import { deriveKey, seal, unseal } from '../../src/email/crypto.js';
import { createUnsubscribeTokens } from '../../src/email/unsubscribe.js';

const SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789';

describe('unsubscribe tokens', () => {
  const tokens = createUnsubscribeTokens(SECRET);

  it('round-trips the user and the kind', () => {
    const token = tokens.create({ userId: 42, kind: 'new_comment' });
    expect(token).toMatch(/^42\.new_comment\.[A-Za-z0-9_-]{43}$/);
    expect(tokens.verify(token)).toEqual({ userId: 42, kind: 'new_comment' });
  });

  it('refuses a token whose user or kind was changed', () => {
    const signature = tokens.create({ userId: 42, kind: 'new_comment' }).split('.')[2];
    expect(tokens.verify(`43.new_comment.${signature}`)).toBeNull();
    expect(tokens.verify(`42.new_follower.${signature}`)).toBeNull();
  });

  it('refuses a token signed with another secret', () => {
    const foreign = createUnsubscribeTokens(`${SECRET}-other`).create({ userId: 42, kind: 'new_comment' });
    expect(tokens.verify(foreign)).toBeNull();
  });

  it.each([
    '',
    'garbage',
    '42.new_comment',
    '42.unknown_kind.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    '0.new_comment.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    `42.new_comment.${'A'.repeat(500)}`,
  ])('refuses the malformed token %j', (token) => {
    expect(tokens.verify(token)).toBeNull();
  });
});

describe('sealing', () => {
  const key = deriveKey(SECRET, 'test');

  it('round-trips and never shows the plaintext', () => {
    const sealed = seal(key, '{"token":"very-secret"}');
    expect(sealed).not.toContain('very-secret');
    expect(unseal(key, sealed)).toBe('{"token":"very-secret"}');
  });

  it('refuses a tampered value and a foreign key', () => {
    const sealed = seal(key, 'hello');
    const parts = sealed.split('.');
    const tampered = [
      parts[0],
      parts[1],
      `${parts[2]?.startsWith('A') ? 'B' : 'A'}${parts[2]?.slice(1)}`,
      parts[3],
    ].join('.');
    expect(() => unseal(key, tampered)).toThrow();
    expect(() => unseal(deriveKey(SECRET, 'other'), sealed)).toThrow();
  });

  it('derives different keys for different purposes', () => {
    expect(deriveKey(SECRET, 'a').equals(deriveKey(SECRET, 'b'))).toBe(false);
  });
});
