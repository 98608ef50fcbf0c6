import { Backoffs } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/jobs/backoff.js';

describe('backoffDelay', () => {
  it('matches BullMQ exponential backoff without jitter', () => {
    const bullmq = Backoffs.builtinStrategies.exponential?.(300, 0);
    for (const attemptsMade of [1, 2, 3, 7]) {
      expect(backoffDelay(attemptsMade, 300, 0)).toBe(bullmq?.(attemptsMade, 'x', new Error(), undefined));
      expect(backoffDelay(attemptsMade, 300, 0)).toBe(300 * 2 ** (attemptsMade - 1));
    }
  });

  it('with jitter stays within [(1 − jitter)·d, d) of the exponential delay d', () => {
    expect(backoffDelay(3, 1000, 0.5, () => 0)).toBe(2000);
    expect(backoffDelay(3, 1000, 0.5, () => 0.999_999)).toBe(3999);
    expect(backoffDelay(1, 1000, 0.5, () => 0.5)).toBe(750);
  });
});
