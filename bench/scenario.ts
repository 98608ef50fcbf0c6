import type { Request } from 'autocannon';
import type { LockWaits } from './locks.js';

/** One autocannon run of the benchmark (bench/run.ts), and the row it yields. */
export interface Scenario {
  name: string;
  server: 'cached' | 'uncached' | 'before' | 'before-uncached';
  connections?: number;
  request: Request;
  /**
   * A write of the write matrix (bench/writes.ts): lock waits are sampled while it runs, and the
   * worker's backlog is drained after it, so the worker CPU per request counts the jobs it caused.
   */
  write?: boolean;
  /** Event-loop delay p99 is read around it (argon2-bound: login, register). */
  storm?: boolean;
  /**
   * Requests it may still send: a scenario consuming prepared targets (delete, unfavorite,
   * unfollow) stops when they run out rather than answer 404s.
   */
  remaining?: () => number;
}

export interface Row {
  name: string;
  /** The scenario's connections. */
  connections: number;
  rps: number;
  p50: number;
  p99: number;
  /** Connection errors, timeouts and non-2xx answers. */
  errors: number;
  ratio: number;
  /** Peak RSS of the server during this scenario, MB. */
  rss: number;
  /** The server's CPU time per request, µs. */
  cpuUs: number;
  /** The worker process's CPU time per request (scenario + the drain after it), µs. */
  workerCpuUs: number;
  /** Event-loop delay p99 of a storm scenario, ms. */
  eventLoopP99?: number;
  /** Write scenarios: lock waits sampled while it ran (the median round's). */
  lockWaits?: LockWaits;
  /** Write scenarios: seconds the worker needed after the run to finish the jobs it caused. */
  drainSeconds?: number;
}
