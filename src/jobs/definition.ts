import type { Logger } from 'pino';
import type { Static, TSchema } from 'typebox';
import type { ResponseCache } from '../cache/response-cache.js';
import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import type { Mailer } from '../email/mailer.js';

/**
 * What names a job: its name and the schema of its payload. Each module declares its job types in
 * a small file of their own (`job-types.ts`), so a service records a job without importing the
 * handler that imports the service. Payloads carry ids and small parameters only — never whole
 * rows or secrets: a handler reads current state when it runs, and Redis (or a log line) never
 * holds what it must not. A payload that does not match its schema fails the job at once.
 *
 * A name is forever: queued jobs of the previous deploy still run by it.
 */
export interface JobType<N extends string = string, S extends TSchema = TSchema> {
  readonly name: N;
  readonly payload: S;
}

export type PayloadOf<T extends JobType> = Static<T['payload']>;

export function jobType<N extends string, S extends TSchema>(name: N, payload: S): JobType<N, S> {
  return { name, payload };
}

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
  /** Enqueues follow-up work, flushes a unit of work's jobs, sweeps the outbox. */
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
export interface JobToEnqueue<T extends JobType> {
  payload: PayloadOf<T>;
  options?: EnqueueOptions;
}

export interface JobEnqueuer {
  /**
   * Adds a job straight to the queue, outside any transaction: for a job that continues a job
   * (the next batch), with a deterministic id so a retry adds nothing twice. Work that follows a
   * database change is recorded in the change's unit of work instead (src/unit-of-work.ts).
   */
  enqueue<T extends JobType>(type: T, payload: PayloadOf<T>, options?: EnqueueOptions): Promise<string>;
  /**
   * `enqueue` for many jobs of one type in a round trip per thousand (a fan-out's batches): every
   * payload is checked before any job is added; returns the job ids in order. On failure some may
   * have been added: enqueue the same list again (with fixed job ids, the added ones are no-ops).
   */
  enqueueMany<T extends JobType>(type: T, jobs: readonly JobToEnqueue<T>[]): Promise<string[]>;
  /** Enqueues recorded outbox rows still pending (after their transaction committed); never throws. */
  flush(outboxIds: readonly string[]): Promise<void>;
  /**
   * `flush` for rows the caller has just recorded and committed (`recordJobs` returns them): no
   * read back. Never throws.
   */
  flushRecorded(rows: readonly OutboxRow[]): Promise<void>;
  /** Enqueues every outbox row recorded but not enqueued (or enqueued long ago and not done). */
  sweepOutbox(): Promise<number>;
}

/** An outbox row as the queue needs it; the id is the job id. */
export interface OutboxRow {
  id: string;
  name: string;
  payload: Record<string, unknown>;
  runAt: Date;
}

/**
 * Handlers must be idempotent: a job may run again after a crash or a lost acknowledgement.
 * Throw `PermanentJobError` when retrying cannot help (bad input, the thing is gone); any other
 * error is transient and retried with exponential backoff.
 */
export interface JobDefinition<T extends JobType = JobType> {
  readonly type: T;
  handle(payload: PayloadOf<T>, context: JobContext): Promise<void>;
  /** Overrides JOB_ATTEMPTS for this job. */
  readonly attempts?: number;
}

/** Fails the job at once, without retries. */
export class PermanentJobError extends Error {
  override name = 'PermanentJobError';
}

/** Ties a handler's payload type to its job type; the result goes into the registry's list. */
export function defineJob<T extends JobType>(
  type: T,
  definition: Omit<JobDefinition<T>, 'type'>,
): JobDefinition {
  return { type, ...definition } as unknown as JobDefinition;
}

/** A job that runs every `everyMs` (a BullMQ job scheduler; a timer in embedded mode). */
export interface RecurringJob {
  /** Identifies the schedule: changing `everyMs` and restarting updates it in place. */
  readonly id: string;
  readonly type: JobType;
  readonly payload: unknown;
  everyMs(config: Config): number;
}

export function recurring<T extends JobType>(job: {
  id: string;
  type: T;
  payload: PayloadOf<T>;
  everyMs: (config: Config) => number;
}): RecurringJob {
  return job;
}
