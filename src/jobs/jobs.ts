import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { Value } from 'typebox/value';
import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import { createLogger } from '../logger.js';
import { BullmqQueue } from './bullmq-queue.js';
import type {
  EnqueueOptions,
  JobDefinition,
  JobEnqueuer,
  JobServices,
  JobToEnqueue,
  JobType,
  PayloadOf,
  RecurringJob,
} from './definition.js';
import { InProcessQueue } from './in-process-queue.js';
import { markEnqueued, type OutboxRow, pendingRows, rowsToSweep } from './outbox.js';
import type { BulkJob, JobQueue, QueueCounts } from './queue.js';
import { buildRegistry } from './registry.js';
import { runAttempt } from './runner.js';

/**
 * Jobs per `addBulk` (one Redis round trip): a fan-out batch or a sweep in one go, while each
 * round trip stays well inside the adapter's call timeout.
 */
const ADD_BULK_CHUNK = 1000;

/** `deps.jobs`: what the rest of the system uses to start background work. */
export interface Jobs extends JobEnqueuer {
  readonly mode: 'bullmq' | 'in-process';
  /** The BullMQ adapter (for Bull Board), when REDIS_URL is set. */
  readonly bullmq: BullmqQueue | undefined;
  /** Runs jobs in this process and (re)defines the recurring ones. Idempotent. */
  startProcessing(): Promise<void>;
  counts(): Promise<QueueCounts>;
  close(): Promise<void>;
}

export interface CreateJobsOptions {
  config: Config;
  db: Database;
  /** What handlers may use besides the database (mailer, cache). */
  services: JobServices;
  log?: Logger;
  /** The handlers; checked: exactly one per job type of `types`. */
  definitions: readonly JobDefinition[];
  /** Every job type the system records or enqueues (src/jobs-registry.ts). */
  types: readonly JobType[];
  /** Defined (idempotently) by `startProcessing`. */
  recurring: readonly RecurringJob[];
}

export function createJobsLogger(config: Config): Logger {
  return createLogger(config, 'jobs');
}

export function createJobs({
  config,
  db,
  services,
  log = createJobsLogger(config),
  definitions,
  types,
  recurring,
}: CreateJobsOptions): Jobs {
  // Fails start-up (API and worker alike) unless every job name has exactly one handler.
  const handlers = buildRegistry(definitions, types);
  const settings = config.jobs;
  const bullmq = config.redisUrl
    ? new BullmqQueue({
        redisUrl: config.redisUrl,
        prefix: settings.queuePrefix,
        backoffMs: settings.backoffMs,
        lockMs: settings.lockMs,
        removeKeysOnClose: settings.ephemeralQueue,
        log,
      })
    : undefined;
  const queue: JobQueue = bullmq ?? new InProcessQueue(settings.backoffMs);
  let processing = false;

  const attemptsOf = (name: string) => handlers.get(name)?.attempts ?? settings.attempts;

  /** Hands jobs to the queue a chunk (one round trip) at a time. */
  async function addInChunks(bulk: readonly BulkJob[]): Promise<void> {
    for (let i = 0; i < bulk.length; i += ADD_BULK_CHUNK) {
      await queue.addBulk(bulk.slice(i, i + ADD_BULK_CHUNK));
    }
  }

  async function enqueueRows(rows: readonly OutboxRow[]): Promise<number> {
    const bulk: BulkJob[] = [];
    for (const row of rows) {
      if (!handlers.has(row.name)) {
        log.error({ outboxId: row.id, job: row.name }, 'outbox row names an unknown job; left as is');
        continue;
      }
      bulk.push({
        name: row.name,
        envelope: { payload: row.payload, outboxId: row.id },
        options: {
          jobId: row.id,
          delayMs: Math.max(0, row.runAt.getTime() - Date.now()),
          attempts: attemptsOf(row.name),
        },
      });
    }
    // A failure leaves every row pending (or enqueued, unchanged), even the ones Redis took: the
    // sweep adds them all again and the ids Redis knows are no-ops.
    await addInChunks(bulk);
    const enqueued = bulk.map((job) => job.options.jobId);
    await markEnqueued(db, enqueued);
    return enqueued.length;
  }

  /** `flush` and `flushRecorded`: never throws, the outbox keeps what could not be enqueued. */
  async function enqueueAfterCommit(
    outboxIds: readonly string[],
    rows: () => Promise<readonly OutboxRow[]>,
  ): Promise<void> {
    try {
      await enqueueRows(await rows());
    } catch (error) {
      // The change is committed and its work recorded: the sweep enqueues it once Redis is back.
      log.warn(
        { outboxIds, error: error instanceof Error ? error.message : String(error) },
        'enqueue after commit failed; the outbox sweep will retry',
      );
    }
  }

  function toBulkJob<T extends JobType>(type: T, { payload, options = {} }: JobToEnqueue<T>): BulkJob {
    if (!Value.Check(type.payload, payload)) {
      throw new TypeError(`enqueue: payload of ${type.name} does not match its schema`);
    }
    return {
      name: type.name,
      envelope: { payload },
      options: {
        jobId: options.jobId ?? randomUUID(),
        delayMs: options.runAt ? Math.max(0, options.runAt.getTime() - Date.now()) : 0,
        attempts: attemptsOf(type.name),
      },
    };
  }

  const jobs: Jobs = {
    mode: queue.kind,
    bullmq,

    async enqueue<T extends JobType>(type: T, payload: PayloadOf<T>, options: EnqueueOptions = {}) {
      const job = toBulkJob(type, { payload, options });
      await queue.add(job.name, job.envelope, job.options);
      return job.options.jobId;
    },

    async enqueueMany<T extends JobType>(type: T, list: readonly JobToEnqueue<T>[]) {
      // Every payload is checked before the first job goes out.
      const bulk = list.map((job) => toBulkJob(type, job));
      await addInChunks(bulk);
      return bulk.map((job) => job.options.jobId);
    },

    flush(outboxIds) {
      return enqueueAfterCommit(outboxIds, async () => pendingRows(db, outboxIds));
    },

    flushRecorded(rows) {
      return enqueueAfterCommit(
        rows.map((row) => row.id),
        async () => rows,
      );
    },

    async sweepOutbox() {
      return enqueueRows(await rowsToSweep(db));
    },

    async startProcessing() {
      if (processing) return;
      processing = true;
      await queue.process(
        (envelope, meta) =>
          runAttempt({ registry: handlers, db, config, log, jobs, services }, envelope, meta),
        settings.concurrency,
      );
      for (const { id, type, payload, everyMs } of recurring) {
        await queue.schedule(id, type.name, { payload }, everyMs(config), attemptsOf(type.name));
      }
      // A schedule this deploy no longer defines would add jobs no handler takes.
      await queue.unscheduleOthers(recurring.map(({ id }) => id));
      // Work recorded before this process started (a crash, a lost enqueue) runs now, not in a
      // minute. The in-process runner's memory died with the last process: what it had enqueued
      // is lost too, however recent.
      await enqueueRows(await rowsToSweep(db, queue.kind === 'in-process')).catch((error: unknown) => {
        log.warn(
          { error: error instanceof Error ? error.message : String(error) },
          'start-up outbox sweep failed',
        );
      });
    },

    counts: () => queue.counts(),
    close: () => queue.close(),
  };
  return jobs;
}
