import type { AttemptMeta, AttemptResult, JobEnvelope } from './runner.js';

/** Jobs per state, for `/health/ready` and `/metrics`. */
export interface QueueCounts {
  waiting: number;
  active: number;
  delayed: number;
  completed: number;
  failed: number;
}

export interface AddOptions {
  /** Adding an id the queue still knows (waiting, delayed, running or kept) is a no-op. */
  jobId: string;
  delayMs: number;
  attempts: number;
}

/** One job of an `addBulk`. */
export interface BulkJob {
  name: string;
  envelope: JobEnvelope;
  options: AddOptions;
}

export type AttemptRunner = (envelope: JobEnvelope, meta: AttemptMeta) => Promise<AttemptResult>;

/**
 * The queue port. Two adapters, one contract (test/jobs/contract.ts): BullMQ on Redis (durable,
 * any number of worker processes) and an in-process runner (not durable: waiting and delayed jobs
 * live in memory; the outbox sweep re-enqueues recorded work after a restart).
 * Retry decisions are made by `runAttempt`; an adapter only schedules the next attempt.
 */
export interface JobQueue {
  readonly kind: 'bullmq' | 'in-process';
  add(name: string, envelope: JobEnvelope, options: AddOptions): Promise<void>;
  /**
   * `add` for many jobs in one round trip (a fan-out batch, an outbox flush), each with `add`'s
   * semantics. Not atomic: when it fails, some of the jobs may have been added — callers retry the
   * whole list, and the ids already known are no-ops.
   */
  addBulk(jobs: readonly BulkJob[]): Promise<void>;
  /** Creates or updates a recurring job (`id` identifies the schedule). */
  schedule(id: string, name: string, envelope: JobEnvelope, everyMs: number, attempts: number): Promise<void>;
  /** Removes the recurring jobs a previous deploy defined and this one does not (`keep`: its ids). */
  unscheduleOthers(keep: readonly string[]): Promise<void>;
  /** Starts running jobs in this process with `concurrency` at a time. */
  process(run: AttemptRunner, concurrency: number): Promise<void>;
  counts(): Promise<QueueCounts>;
  /** Stops taking jobs, lets the running ones finish, releases connections. */
  close(): Promise<void>;
}

/** Retries wait `backoffMs · 2^(n-1)` ± jitter; finished jobs are kept this long / this many. */
export const KEEP_COMPLETED = { age: 24 * 3600, count: 1000 };
export const KEEP_FAILED = { age: 7 * 24 * 3600, count: 5000 };
