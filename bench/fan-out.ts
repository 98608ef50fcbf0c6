import { setTimeout as sleep } from 'node:timers/promises';
import { destination, pino } from 'pino';
import type { Config } from '../src/config.js';
import { createDeps } from '../src/deps.js';
import { emailSendBatchJobType, emailSendJobType } from '../src/email/job-types.js';
import { EMAIL_SEND_ATTEMPTS } from '../src/email/jobs.js';
import { defineJob, type JobDefinition, type JobEnqueuer, type OutboxRow } from '../src/jobs/definition.js';
import type { AttemptRunner } from '../src/jobs/queue.js';
import { buildRegistry } from '../src/jobs/registry.js';
import { runAttempt } from '../src/jobs/runner.js';
import { jobDefinitions, jobTypes } from '../src/jobs-registry.js';
import { createArticle } from '../src/modules/articles/service.js';
import { runWrite } from '../src/unit-of-work.js';

/**
 * The new-article fan-out as production runs it: an article is created through the articles
 * service in a unit of work (its transaction records `notifications.article-published` in the
 * outbox, flushed to BullMQ after the commit as in the route), and a real BullMQ worker runs the
 * job chain with the real runner and handlers (batches of NOTIFICATION_BATCH_SIZE followers, each
 * a unit of work: email_log rows and their `email.send` outbox rows, flushed after its commit).
 *
 * Timed: from the start of the `notifications.article-published` attempt until the send jobs of
 * the last followers' emails have been added to Redis (the batches' flushes resolved). Nothing is
 * sent: the worker's `email.send` and `email.send-batch` are no-ops that record the email ids,
 * which also proves every job reached Redis (the run waits until each email was taken once).
 */

export interface FanOutResult {
  followers: number;
  /** Start of the first fan-out job → the last `email.send` queued. */
  queuedSeconds: number;
  /** createArticle + flush → the first fan-out job started (queue pickup). */
  pickupSeconds: number;
  /** Fan-out jobs run (the first one and its continuations). */
  batches: number;
}

const TIMEOUT_MS = 120_000;

/** `promise`, or an error naming `what` after `ms` (the timer does not outlive the promise). */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done in ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function measureFanOut(
  config: Config,
  authorId: number,
  followers: number,
  title: string,
): Promise<FanOutResult> {
  const deps = await createDeps(config);
  try {
    const queue = deps.jobs.bullmq;
    if (!queue) throw new Error('the fan-out benchmark needs Redis');
    await queue.queue.waitUntilReady();

    const delivered = new Set<number>();
    const noOpSend = defineJob(emailSendJobType, {
      attempts: EMAIL_SEND_ATTEMPTS,
      handle: async ({ emailId }) => {
        delivered.add(emailId);
      },
    });
    const noOpSendBatch = defineJob(emailSendBatchJobType, {
      attempts: EMAIL_SEND_ATTEMPTS,
      handle: async ({ emailIds }) => {
        for (const emailId of emailIds) delivered.add(emailId);
      },
    });
    const noOps = new Map<string, JobDefinition>([
      ['email.send', noOpSend],
      ['email.send-batch', noOpSendBatch],
    ]);
    const registry = buildRegistry(
      jobDefinitions.map((d) => noOps.get(d.type.name) ?? d),
      jobTypes,
    );

    /** The emails of the send jobs flushed so far (the batches' units of work record only those). */
    const queued = new Set<number>();
    let jobStarted = 0;
    let allQueuedAt = 0;
    let batches = 0;
    let resolveQueued: () => void = () => {};
    const allQueued = new Promise<void>((resolve) => {
      resolveQueued = resolve;
    });
    const sawQueued = (rows: readonly OutboxRow[]) => {
      for (const { payload } of rows) {
        const emailIds = Array.isArray(payload.emailIds) ? payload.emailIds : [payload.emailId];
        for (const id of emailIds) queued.add(Number(id));
      }
      if (queued.size >= followers && allQueuedAt === 0) {
        allQueuedAt = performance.now();
        resolveQueued();
      }
    };
    // What the handlers get as ctx.jobs: deps.jobs, counting the emails of the send jobs the
    // batches' units of work flush.
    const jobs: JobEnqueuer = {
      enqueue: (type, payload, options) => deps.jobs.enqueue(type, payload, options),
      enqueueMany: (type, list) => deps.jobs.enqueueMany(type, list),
      // Units of work flush what they recorded (flushRecorded); nothing here flushes by id.
      flush: (ids) => deps.jobs.flush(ids),
      flushRecorded: async (rows) => {
        await deps.jobs.flushRecorded(rows);
        sawQueued(rows);
      },
      sweepOutbox: () => deps.jobs.sweepOutbox(),
    };
    // Production writes one log line per attempt: written here too, to /dev/null.
    const log = pino({ level: 'info' }, destination('/dev/null'));
    const run: AttemptRunner = (envelope, meta) => {
      if (
        meta.name === 'notifications.article-published' ||
        meta.name === 'notifications.new-article-batch'
      ) {
        batches += 1;
        if (jobStarted === 0) jobStarted = performance.now();
      }
      return runAttempt(
        {
          registry,
          db: deps.database.db,
          config,
          log,
          jobs,
          services: { mailer: deps.mailer, cache: deps.cache },
        },
        envelope,
        meta,
      );
    };
    await queue.process(run, config.jobs.concurrency);

    const published = performance.now();
    await runWrite(deps.writes, (uow) =>
      createArticle(uow, authorId, {
        title,
        description: 'The fan-out benchmark',
        body: 'Lorem ipsum dolor sit amet. '.repeat(40),
        tagList: [],
      }),
    );

    await within(TIMEOUT_MS, 'fan-out: queueing', allQueued);
    // Every queued job really is in Redis: the no-op worker takes each of them once.
    await within(
      TIMEOUT_MS,
      'fan-out: draining the no-op sends',
      (async () => {
        while (delivered.size < followers) await sleep(20);
      })(),
    );
    if (queued.size !== followers || delivered.size !== followers) {
      throw new Error(`fan-out: ${queued.size} queued, ${delivered.size} taken, ${followers} followers`);
    }
    return {
      followers,
      queuedSeconds: (allQueuedAt - jobStarted) / 1000,
      pickupSeconds: (jobStarted - published) / 1000,
      batches,
    };
  } finally {
    await deps.close();
  }
}
