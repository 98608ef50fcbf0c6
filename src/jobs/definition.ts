import type { Logger } from 'pino';
import type { ResponseCache } from '../cache/response-cache.js';
import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import type { Mailer } from '../email/mailer.js';
import type { JobName, JobPayload } from './payloads.js';

/** What a handler may use besides its payload. */
export interface JobContext {
  readonly jobId: string;
  /** 1 for the first run. */
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly db: Database;
  readonly config: Config;
  /** Bound to job id, name and attempt. */
  readonly log: Logger;
  /** Enqueues follow-up work or sweeps the outbox (the sweep job uses it). */
  readonly jobs: JobEnqueuer;
  /** SMTP (or .eml) transport, for the email send job. */
  readonly mailer: Mailer;
  /** The response cache, so a job's write (e.g. a scheduled publish) invalidates what it changed. */
  readonly cache: ResponseCache;
}

/** The long-lived services a process hands to its job handlers. */
export interface JobServices {
  readonly mailer: Mailer;
  readonly cache: ResponseCache;
}

export interface EnqueueOptions {
  /** Run no earlier than this (a delayed job). */
  runAt?: Date;
  /** A second enqueue with the same id, while the first is known to the queue, is a no-op. */
  jobId?: string;
}

/** One job of an `enqueueMany`. */
export interface JobToEnqueue<N extends JobName> {
  payload: JobPayload<N>;
  options?: EnqueueOptions;
}

export interface JobEnqueuer {
  enqueue<N extends JobName>(name: N, payload: JobPayload<N>, options?: EnqueueOptions): Promise<string>;
  /**
   * `enqueue` for many jobs of one name in a round trip per thousand (a fan-out batch): every
   * payload is checked before any job is added; returns the job ids in order. On failure some may
   * have been added: enqueue the same list again (with fixed job ids, the added ones are no-ops).
   */
  enqueueMany<N extends JobName>(name: N, jobs: readonly JobToEnqueue<N>[]): Promise<string[]>;
  /** Enqueues recorded outbox rows (after their transaction committed); never throws. */
  flush(outboxIds: readonly string[]): Promise<void>;
  /** Enqueues every outbox row recorded but not enqueued (or enqueued long ago and not done). */
  sweepOutbox(): Promise<number>;
}

/**
 * Handlers must be idempotent: a job may run again after a crash or a lost acknowledgement.
 * Throw `PermanentJobError` when retrying cannot help (bad input, the thing is gone); any other
 * error is transient and retried with exponential backoff.
 */
export interface JobDefinition<N extends JobName = JobName> {
  readonly name: N;
  handle(payload: JobPayload<N>, context: JobContext): Promise<void>;
  /** Overrides JOB_ATTEMPTS for this job. */
  readonly attempts?: number;
}

/** Fails the job at once, without retries. */
export class PermanentJobError extends Error {
  override name = 'PermanentJobError';
}

/** Keeps each handler file's payload type tied to its name. */
export function defineJob<N extends JobName>(definition: JobDefinition<N>): JobDefinition<N> {
  return definition;
}
