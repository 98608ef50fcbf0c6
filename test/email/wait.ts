import { setTimeout as sleep } from 'node:timers/promises';
import { and, count, eq, inArray, lte, sql } from 'drizzle-orm';
import type { Database } from '../../src/db/client.js';
import { emailLog, jobOutbox } from '../../src/db/schema.js';
import type { EmailStatus } from '../../src/email/log.js';

type LogRow = typeof emailLog.$inferSelect;

/**
 * Waits until every row of `ids` has reached a final status (`sent` or `failed`) — or `status`
 * when given — and returns them. Deliveries run in the job queue after the request answered, so
 * a test observes their outcome here (or in an inbox), never by sleeping a fixed time.
 */
export async function waitForEmailRows(
  db: Database,
  ids: readonly number[],
  options: { status?: EmailStatus; timeoutMs?: number } = {},
): Promise<LogRow[]> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  const done = (row: LogRow) =>
    options.status ? row.status === options.status : row.status === 'sent' || row.status === 'failed';
  for (;;) {
    const rows =
      ids.length === 0
        ? []
        : await db
            .select()
            .from(emailLog)
            .where(inArray(emailLog.id, [...ids]));
    if (rows.length === ids.length && rows.every(done)) return rows.sort((a, b) => a.id - b.id);
    if (Date.now() > deadline) {
      const states = rows.map((row) => `${row.id}:${row.status}/${row.attempts}`).join(', ');
      throw new Error(`email rows not settled in time: ${states}`);
    }
    await sleep(25);
  }
}

/** The log rows of one recipient, oldest first. */
export async function emailRowsTo(db: Database, recipient: string): Promise<LogRow[]> {
  const rows = await db.select().from(emailLog).where(eq(emailLog.recipient, recipient.toLowerCase()));
  return rows.sort((a, b) => a.id - b.id);
}

/**
 * Waits until the background work the test's requests started is over: no due outbox job is
 * `pending` or `enqueued` and no email is `queued` or `sending`. A job marks its outbox row done
 * after its email row says `sent`, so both are checked (e.g. before counting the queries of the
 * next request, which must not include a job's last update).
 */
export async function waitForBackgroundSettled(db: Database, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [open] = await db
      .select({ jobs: count() })
      .from(jobOutbox)
      .where(and(inArray(jobOutbox.status, ['pending', 'enqueued']), lte(jobOutbox.runAt, sql`now()`)));
    const [sending] = await db
      .select({ emails: count() })
      .from(emailLog)
      .where(inArray(emailLog.status, ['queued', 'sending']));
    if (open?.jobs === 0 && sending?.emails === 0) return;
    if (Date.now() > deadline)
      throw new Error(
        `background work not settled in time: ${open?.jobs} jobs, ${sending?.emails} emails open`,
      );
    await sleep(25);
  }
}
