import { setTimeout as sleep } from 'node:timers/promises';
import { destination, pino } from 'pino';
import type { Config } from '../src/config.js';
import { createDeps } from '../src/deps.js';
import { defineJob, type JobDefinition, type JobEnqueuer } from '../src/jobs/definition.js';
import { EMAIL_SEND_ATTEMPTS } from '../src/jobs/handlers/email-send.js';
import type { AttemptRunner } from '../src/jobs/queue.js';
import { buildRegistry, jobDefinitions } from '../src/jobs/registry.js';
import { runAttempt } from '../src/jobs/runner.js';
import { createArticle } from '../src/modules/articles/service.js';

/**
 * The new-article fan-out as production runs it: an article is created through the articles
 * service (its transaction records `notifications.article-published` in the outbox), the outbox
 * row is flushed to BullMQ as the route does, and a real BullMQ worker runs the job chain with the
 * real runner and handlers (keyset batches of NOTIFICATION_BATCH_SIZE followers: email_log rows,
 * one `email.send` job per follower, then the next batch).
 *
 * Timed: from the start of the `notifications.article-published` attempt until the last of the
 * followers' `email.send` jobs has been added to Redis (the handlers' enqueue calls resolved).
 * Nothing is sent: the worker's `email.send` is a no-op that records the email id, which also
 * proves every job reached Redis (the run waits until each of them was taken once).
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
    const noOpSend = defineJob({
      name: 'email.send',
      attempts: EMAIL_SEND_ATTEMPTS,
      handle: async ({ emailId }) => {
        delivered.add(emailId);
      },
    }) as JobDefinition;
    const registry = buildRegistry(jobDefinitions.map((d) => (d.name === 'email.send' ? noOpSend : d)));

    const queued = new Set<string>();
    let jobStarted = 0;
    let allQueuedAt = 0;
    let batches = 0;
    let resolveQueued: () => void = () => {};
    const allQueued = new Promise<void>((resolve) => {
      resolveQueued = resolve;
    });
    const sawQueued = (ids: readonly string[]) => {
      for (const id of ids) queued.add(id);
      if (queued.size >= followers && allQueuedAt === 0) {
        allQueuedAt = performance.now();
        resolveQueued();
      }
    };
    // What the handlers get as ctx.jobs: deps.jobs, counting the email.send jobs it has added.
    const jobs: JobEnqueuer = {
      enqueue: async (name, payload, options) => {
        const id = await deps.jobs.enqueue(name, payload, options);
        if (name === 'email.send') sawQueued([id]);
        return id;
      },
      enqueueMany: async (name, list) => {
        const ids = await deps.jobs.enqueueMany(name, list);
        if (name === 'email.send') sawQueued(ids);
        return ids;
      },
      flush: (ids) => deps.jobs.flush(ids),
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
    const { outboxIds } = await createArticle(deps.database.db, authorId, {
      title,
      description: 'The fan-out benchmark',
      body: 'Lorem ipsum dolor sit amet. '.repeat(40),
      tagList: [],
    });
    await deps.jobs.flush(outboxIds);

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
