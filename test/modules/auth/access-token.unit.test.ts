import { afterEach, describe, expect, it, vi } from 'vitest';
import { createAccessTokenSigner } from '../../../src/modules/auth/access-token.js';
import { TEST_JWT_SECRET } from '../../support/app.js';

/** The signer remembers verified tokens (src/modules/auth/access-token.ts): what must still hold. */
describe('access token verification, remembered per token', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('refuses a token it verified before once that token expires', async () => {
    const signer = createAccessTokenSigner(TEST_JWT_SECRET, 60);
    const token = await signer.sign(7);
    expect(await signer.verify(token)).toBe(7);
    expect(await signer.verify(token)).toBe(7);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 60_000);
    await expect(signer.verify(token)).rejects.toThrow('The access token expired');
    await expect(signer.verify(token)).rejects.toThrow('The access token expired');
  });

  it('remembers the exact token only: the same claims under another signature are checked in full', async () => {
    const signer = createAccessTokenSigner(TEST_JWT_SECRET, 60);
    const token = await signer.sign(7);
    expect(await signer.verify(token)).toBe(7);
    const [header, payload] = token.split('.');
    await expect(signer.verify(`${header}.${payload}.${'A'.repeat(43)}`)).rejects.toThrow(
      'The access token is invalid',
    );
    const other = createAccessTokenSigner(`${TEST_JWT_SECRET}-other`, 60);
    await expect(other.verify(token)).rejects.toThrow('The access token is invalid');
  });
});
