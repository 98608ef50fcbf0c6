import { and, asc, eq, inArray, lt, ne, or, sql } from 'drizzle-orm';
import { Value } from 'typebox/value';
import type { Database, Queryable } from '../db/client.js';
import { jobOutbox } from '../db/schema.js';
import type { JobType, OutboxRow, PayloadOf } from './definition.js';

export type { OutboxRow };

/** Rows the sweep hands to the queue per run; the next run takes the rest. */
const SWEEP_BATCH = 500;
/** An `enqueued` row not done after this long may have lost its job (Redis lost data): re-enqueue. */
export const OUTBOX_STALE_MS = 15 * 60_000;

export interface RecordJobOptions {
  /** Run no earlier than this (scheduled publishing). */
  runAt?: Date;
  /** Recording the same key again keeps the first row (and returns its id). */
  dedupeKey?: string;
}

function checkPayload(type: JobType, payload: unknown): Record<string, unknown> {
  if (!Value.Check(type.payload, payload)) {
    throw new TypeError(`outbox: payload of ${type.name} does not match its schema`);
  }
  return payload as Record<string, unknown>;
}

const rowColumns = {
  id: jobOutbox.id,
  name: jobOutbox.name,
  payload: jobOutbox.payload,
  runAt: jobOutbox.runAt,
};

/**
 * Records jobs of one type in the caller's transaction, in one INSERT, so they exist exactly when
 * the change does; the row id is the job id. Returns the rows inserted (a dedupe key recorded
 * before is left out). Called by the unit of work (src/unit-of-work.ts), whose commit hands the
 * rows to `jobs.flushRecorded`; if that enqueue is lost, the outbox sweep enqueues the rows
 * within OUTBOX_SWEEP_INTERVAL.
 */
export async function recordJobs<T extends JobType>(
  tx: Queryable,
  type: T,
  jobs: readonly ({ payload: PayloadOf<T> } & RecordJobOptions)[],
): Promise<OutboxRow[]> {
  if (jobs.length === 0) return [];
  const rows = jobs.map(({ payload, runAt, dedupeKey }) => ({
    name: type.name,
    payload: checkPayload(type, payload),
    dedupeKey: dedupeKey ?? null,
    ...(runAt ? { runAt } : {}),
  }));
  return tx
    .insert(jobOutbox)
    .values(rows)
    .onConflictDoNothing({ target: jobOutbox.dedupeKey })
    .returning(rowColumns);
}

/** One job of `recordJobs`; with a dedupe key recorded before, the id of that earlier row. */
export async function recordJob<T extends JobType>(
  tx: Queryable,
  type: T,
  payload: PayloadOf<T>,
  options: RecordJobOptions = {},
): Promise<string> {
  const [row] = await recordJobs(tx, type, [{ payload, ...options }]);
  if (row) return row.id;
  const [existing] = await tx
    .select({ id: jobOutbox.id })
    .from(jobOutbox)
    .where(eq(jobOutbox.dedupeKey, options.dedupeKey ?? ''));
  if (!existing) throw new Error(`recordJob: no row for dedupe key of ${type.name}`);
  return existing.id;
}

export function pendingRows(db: Database, ids: readonly string[]): Promise<OutboxRow[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return db
    .select(rowColumns)
    .from(jobOutbox)
    .where(and(inArray(jobOutbox.id, [...ids]), eq(jobOutbox.status, 'pending')));
}

/**
 * Recorded but never enqueued, or enqueued long ago (run time included) and still not done.
 * `everyEnqueued`: the in-process runner after a restart, whose queue died with the process.
 */
export function rowsToSweep(db: Database, everyEnqueued = false): Promise<OutboxRow[]> {
  const staleBefore = new Date(Date.now() - OUTBOX_STALE_MS);
  const lost = everyEnqueued
    ? eq(jobOutbox.status, 'enqueued')
    : and(
        eq(jobOutbox.status, 'enqueued'),
        lt(jobOutbox.enqueuedAt, staleBefore),
        lt(jobOutbox.runAt, staleBefore),
      );
  return db
    .select(rowColumns)
    .from(jobOutbox)
    .where(or(eq(jobOutbox.status, 'pending'), lost))
    .orderBy(asc(jobOutbox.runAt))
    .limit(SWEEP_BATCH);
}

/*
 * The updates every job makes (enqueued after the write, an attempt, done) run as named
 * statements: PostgreSQL plans each once per connection instead of once per job. `id = any($1)`
 * keeps one statement text whatever the number of ids.
 */

export async function markEnqueued(db: Database, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  // A fast worker may already have marked the row done: never move it back.
  await db
    .update(jobOutbox)
    .set({ status: 'enqueued', enqueuedAt: sql`now()` })
    .where(
      and(
        sql`${jobOutbox.id} = any(${sql.placeholder('ids')})`,
        or(eq(jobOutbox.status, 'pending'), eq(jobOutbox.status, 'enqueued')),
      ),
    )
    .prepare('outbox_enqueued')
    .execute({ ids: [...ids] });
}

/** Counts the attempt; false when the row is done (a replay after a crash) or gone (rolled back). */
export async function beginAttempt(db: Database, id: string): Promise<boolean> {
  const rows = await db
    .update(jobOutbox)
    .set({ attempts: sql`${jobOutbox.attempts} + 1` })
    .where(and(eq(jobOutbox.id, sql.placeholder('id')), ne(jobOutbox.status, 'done')))
    .returning({ id: jobOutbox.id })
    .prepare('outbox_attempt')
    .execute({ id });
  return rows.length > 0;
}

export async function markDone(db: Database, id: string): Promise<void> {
  await db
    .update(jobOutbox)
    .set({ status: 'done', doneAt: sql`now()`, lastError: null })
    .where(and(eq(jobOutbox.id, sql.placeholder('id')), ne(jobOutbox.status, 'done')))
    .prepare('outbox_done')
    .execute({ id });
}

export async function markFailed(db: Database, id: string, error: string): Promise<void> {
  await db
    .update(jobOutbox)
    .set({ status: 'failed', lastError: error.slice(0, 2000) })
    .where(and(eq(jobOutbox.id, id), ne(jobOutbox.status, 'done')));
}

export async function recordError(db: Database, id: string, error: string): Promise<void> {
  await db
    .update(jobOutbox)
    .set({ lastError: error.slice(0, 2000) })
    .where(eq(jobOutbox.id, id));
}
