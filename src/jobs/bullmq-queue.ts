import { type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createRedis } from '../redis.js';
import { BACKOFF_JITTER } from './backoff.js';
import type { AddOptions, AttemptRunner, BulkJob, JobQueue, QueueCounts } from './queue.js';
import { KEEP_COMPLETED, KEEP_FAILED } from './queue.js';
import type { JobEnvelope } from './runner.js';

export const QUEUE_NAME = 'jobs';
/**
 * BullMQ waits for a connection before it sends a command, for ever if Redis is down. A request
 * (flush after commit), a scrape or a readiness check must not: past this bound the call fails
 * and the outbox sweep does the enqueue later.
 */
const REDIS_CALL_TIMEOUT_MS = 2000;

class RedisTimeoutError extends Error {
  override name = 'RedisTimeoutError';
}

function bounded<T>(what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new RedisTimeoutError(`${what}: Redis did not answer within ${REDIS_CALL_TIMEOUT_MS} ms`)),
      REDIS_CALL_TIMEOUT_MS,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export interface BullmqQueueOptions {
  redisUrl: string;
  prefix: string;
  backoffMs: number;
  lockMs: number;
  /** Delete every key of this prefix on close (a test app's generated prefix). */
  removeKeysOnClose?: boolean;
  log: Logger;
}

/**
 * The production queue. API processes only add jobs; `npm run worker` processes run them.
 * Follows BullMQ's "going to production": a fail-fast connection for adding (a request must not
 * hang while Redis is down — the outbox keeps the work), a blocking one with
 * `maxRetriesPerRequest: null` for the worker, an `error` listener on everything, finished jobs
 * trimmed by age and count, UnrecoverableError for permanent failures.
 */
export class BullmqQueue implements JobQueue {
  readonly kind = 'bullmq';
  readonly queue: Queue<JobEnvelope>;
  private readonly producer: Redis;
  private worker: Worker<JobEnvelope> | undefined;
  private workerConnection: Redis | undefined;

  constructor(private readonly options: BullmqQueueOptions) {
    this.producer = createRedis(options.redisUrl, 'conduit-queue');
    this.producer.on('error', () => {});
    this.queue = new Queue<JobEnvelope>(QUEUE_NAME, {
      connection: this.producer,
      prefix: options.prefix,
      defaultJobOptions: {
        backoff: { type: 'exponential', delay: options.backoffMs, jitter: BACKOFF_JITTER },
        removeOnComplete: KEEP_COMPLETED,
        removeOnFail: KEEP_FAILED,
      },
    });
    this.queue.on('error', (error) => options.log.warn({ error: error.message }, 'job queue error'));
  }

  async add(name: string, envelope: JobEnvelope, { jobId, delayMs, attempts }: AddOptions): Promise<void> {
    this.assertConnected();
    // An id the queue still holds makes this a no-op: enqueuing an outbox row twice runs it once.
    await bounded('enqueue', this.queue.add(name, envelope, { jobId, delay: delayMs, attempts }));
  }

  async addBulk(jobs: readonly BulkJob[]): Promise<void> {
    if (jobs.length === 0) return;
    this.assertConnected();
    // One pipeline of BullMQ's add scripts: one round trip instead of one per job.
    await bounded(
      'enqueue',
      this.queue.addBulk(
        jobs.map(({ name, envelope, options: { jobId, delayMs, attempts } }) => ({
          name,
          data: envelope,
          opts: { jobId, delay: delayMs, attempts },
        })),
      ),
    );
  }

  async schedule(id: string, name: string, envelope: JobEnvelope, everyMs: number, attempts: number) {
    await this.queue.upsertJobScheduler(id, { every: everyMs }, { name, data: envelope, opts: { attempts } });
  }

  async unscheduleOthers(keep: readonly string[]): Promise<void> {
    for (const scheduler of await this.queue.getJobSchedulers()) {
      if (!keep.includes(scheduler.key)) await this.queue.removeJobScheduler(scheduler.key);
    }
  }

  async process(run: AttemptRunner, concurrency: number): Promise<void> {
    this.workerConnection = createRedis(this.options.redisUrl, 'conduit-worker', 'blocking');
    this.workerConnection.on('error', () => {});
    const worker = new Worker<JobEnvelope>(
      QUEUE_NAME,
      async (job: Job<JobEnvelope>) => {
        const result = await run(job.data, {
          jobId: job.id ?? 'unknown',
          name: job.name,
          attempt: job.attemptsMade + 1,
          maxAttempts: job.opts.attempts ?? 1,
        });
        if (result.outcome === 'retry') throw result.error;
        if (result.outcome === 'failed') throw new UnrecoverableError(result.error?.message ?? 'failed');
      },
      {
        connection: this.workerConnection,
        prefix: this.options.prefix,
        concurrency,
        // A worker killed mid-job stops renewing its lock; after lockMs another worker (or this
        // one restarted) finds the job stalled and runs it again.
        lockDuration: this.options.lockMs,
        stalledInterval: this.options.lockMs,
        maxStalledCount: 1,
      },
    );
    worker.on('error', (error) => this.options.log.warn({ error: error.message }, 'job worker error'));
    this.worker = worker;
    await worker.waitUntilReady();
  }

  async counts(): Promise<QueueCounts> {
    this.assertConnected();
    const c = await bounded(
      'job counts',
      this.queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed'),
    );
    return {
      waiting: (c.waiting ?? 0) + (c.prioritized ?? 0),
      active: c.active ?? 0,
      delayed: c.delayed ?? 0,
      completed: c.completed ?? 0,
      failed: c.failed ?? 0,
    };
  }

  private async removeKeys(): Promise<void> {
    let cursor = '0';
    do {
      const [next, keys] = await bounded(
        'scan',
        this.producer.scan(cursor, 'MATCH', `${this.options.prefix}:*`, 'COUNT', 500),
      );
      if (keys.length > 0) await bounded('unlink', this.producer.unlink(...keys));
      cursor = next;
    } while (cursor !== '0');
  }

  /** While Redis is known to be unreachable, fail at once rather than after the timeout. */
  private assertConnected(): void {
    if (this.producer.status !== 'ready') {
      throw new RedisTimeoutError(`Redis is not connected (${this.producer.status})`);
    }
  }

  /** Redis must never evict BullMQ's keys; a cache-style policy silently loses jobs. */
  async evictionPolicy(): Promise<string | undefined> {
    // At start-up the connection may still be opening (and sends nothing until it is).
    await bounded('connect', this.queue.waitUntilReady());
    const info = await bounded('info', this.producer.info('memory'));
    return /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
  }

  async close(): Promise<void> {
    // worker.close() waits for the running jobs to finish.
    await this.worker?.close();
    await this.queue.close();
    if (this.options.removeKeysOnClose) await this.removeKeys().catch(() => {});
    for (const connection of [this.workerConnection, this.producer]) {
      await connection?.quit().catch(() => connection.disconnect());
    }
  }
}
