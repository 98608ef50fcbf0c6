/**
 * Exponential backoff with jitter, the same formula BullMQ applies (`type: 'exponential'`,
 * `jitter`), so the in-process runner retries on the same schedule as the workers.
 * `attemptsMade` is the number of attempts that already failed (≥ 1).
 */
export function backoffDelay(
  attemptsMade: number,
  baseMs: number,
  jitter: number,
  random = Math.random,
): number {
  const raw = Math.round(2 ** (attemptsMade - 1) * baseMs);
  if (jitter <= 0) return raw;
  const min = raw * (1 - jitter);
  return Math.floor(random() * raw * jitter + min);
}

/** Spread retries of many jobs failing together (Redis hiccup, SMTP outage) over half the delay. */
export const BACKOFF_JITTER = 0.5;
