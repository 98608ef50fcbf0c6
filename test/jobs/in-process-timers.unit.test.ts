import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InProcessQueue, MAX_TIMER_MS } from '../../src/jobs/in-process-queue.js';
import type { AttemptRunner } from '../../src/jobs/queue.js';

const THIRTY_DAYS_MS = 30 * 24 * 3600_000;

/** A queue that records the ids it runs. */
function recordingQueue(): { queue: InProcessQueue; ran: string[] } {
  const queue = new InProcessQueue(1000);
  const ran: string[] = [];
  const run: AttemptRunner = async (_envelope, meta) => {
    ran.push(meta.jobId);
    return { outcome: 'completed' };
  };
  void queue.process(run, 1);
  return { queue, ran };
}

describe('in-process queue timers', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('keeps a job delayed 30 days delayed, without a TimeoutOverflowWarning (real timers)', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    const { queue, ran } = recordingQueue();
    try {
      await queue.add('probe', { payload: {} }, { jobId: 'far', delayMs: THIRTY_DAYS_MS, attempts: 1 });
      await queue.add('probe', { payload: {} }, { jobId: 'now', delayMs: 0, attempts: 1 });
      // An overflowing timer fires after 1 ms and warns on the next tick: both are long past here.
      await sleep(50);
      expect(ran).toEqual(['now']);
      expect(await queue.counts()).toMatchObject({ delayed: 1, completed: 1 });
      expect(warnings.map((warning) => warning.name)).not.toContain('TimeoutOverflowWarning');
    } finally {
      process.off('warning', onWarning);
      await queue.close();
    }
  });

  it('runs a job delayed beyond the longest timer when it is due, not before', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const { queue, ran } = recordingQueue();
    try {
      await queue.add('probe', { payload: {} }, { jobId: 'far', delayMs: THIRTY_DAYS_MS, attempts: 1 });
      // The first timer ends at MAX_TIMER_MS (~24.8 days) and is armed again for the rest.
      await vi.advanceTimersByTimeAsync(MAX_TIMER_MS + 1);
      expect(ran).toEqual([]);
      await vi.advanceTimersByTimeAsync(THIRTY_DAYS_MS - MAX_TIMER_MS - 1000);
      expect(ran).toEqual([]);
      await vi.advanceTimersByTimeAsync(1000);
      expect(ran).toEqual(['far']);
    } finally {
      await queue.close();
    }
  });

  it('closes with a long timer pending, and the job never runs', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const { queue, ran } = recordingQueue();
    await queue.add('probe', { payload: {} }, { jobId: 'far', delayMs: THIRTY_DAYS_MS, attempts: 1 });
    await vi.advanceTimersByTimeAsync(MAX_TIMER_MS + 1);
    await queue.close();
    await vi.advanceTimersByTimeAsync(THIRTY_DAYS_MS);
    expect(ran).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });
});
