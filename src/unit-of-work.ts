import type { Database, Transaction } from './db/client.js';
import { type QueueEmailInput, queueEmails } from './email/log.js';
import type { EmailKeys } from './email/render.js';
import type { EmailTemplateName } from './email/templates/index.js';
import type { JobEnqueuer, JobType, PayloadOf } from './jobs/definition.js';
import { type OutboxRow, type RecordJobOptions, recordJobs } from './jobs/outbox.js';

/**
 * The one write path. A write — a request's or a job's — runs as
 * `runWrite(deps, (uow) => createArticle(uow, viewerId, input))`: the service does its SQL on
 * `uow.tx` and records, in the same transaction, what must follow the change:
 *
 * - `uow.job(type, payload)`: a job_outbox row;
 * - `uow.email(input)` / `uow.emails(inputs)`: email_log rows, each with the outbox row of its
 *   `email.send` job;
 * - `uow.invalidate(namespaces)`: response-cache namespaces (src/cache/namespaces.ts).
 *
 * After the commit, and only then, runWrite invalidates the namespaces (so the caller never reads
 * its own write stale) and hands the recorded jobs to the queue (`jobs.flushRecorded`, which never
 * throws: a lost enqueue is caught by the `system.outbox-sweep` job). A write that throws records
 * nothing.
 */
export interface UnitOfWork {
  readonly tx: Transaction;
  /** Records a job to run after the commit (at `runAt`); a used dedupe key records nothing new. */
  job<T extends JobType>(type: T, payload: PayloadOf<T>, options?: RecordJobOptions): Promise<void>;
  /** Queues one email; its id, or null when its dedupe key was used before (nothing to send). */
  email<K extends EmailTemplateName>(input: QueueEmailInput<K>): Promise<number | null>;
  /** `email` for many recipients, one INSERT each for the rows and their jobs (a fan-out batch). */
  emails<K extends EmailTemplateName>(inputs: readonly QueueEmailInput<K>[]): Promise<number[]>;
  /** Cache namespaces the write changes, invalidated after the commit. */
  invalidate(namespaces: readonly string[]): void;
}

/**
 * What a write needs: the database, the queue, the cache and the email keys. `deps.writes` in the
 * API; a job handler's context has the same shape.
 */
export interface WriteDeps {
  readonly db: Database;
  readonly jobs: Pick<JobEnqueuer, 'flushRecorded'>;
  readonly cache: { invalidate(namespaces: readonly string[]): Promise<void> };
  /** Renders each email's subject and seals its secrets when it is queued. */
  readonly config: EmailKeys;
}

export async function runWrite<T>(deps: WriteDeps, work: (uow: UnitOfWork) => Promise<T>): Promise<T> {
  const recorded: OutboxRow[] = [];
  const namespaces = new Set<string>();
  const result = await deps.db.transaction((tx) =>
    work({
      tx,
      async job(type, payload, options) {
        recorded.push(...(await recordJobs(tx, type, [{ payload, ...options }])));
      },
      async email(input) {
        const queued = await queueEmails(tx, deps.config, [input]);
        recorded.push(...queued.jobs);
        return queued.emailIds[0] ?? null;
      },
      async emails(inputs) {
        const queued = await queueEmails(tx, deps.config, inputs);
        recorded.push(...queued.jobs);
        return queued.emailIds;
      },
      invalidate(list) {
        for (const namespace of list) namespaces.add(namespace);
      },
    }),
  );
  if (namespaces.size > 0) await deps.cache.invalidate([...namespaces]);
  await deps.jobs.flushRecorded(recorded);
  return result;
}
