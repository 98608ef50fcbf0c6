import { setTimeout as sleep } from 'node:timers/promises';
import { eq, inArray } from 'drizzle-orm';
import type { Database } from '../../src/db/client.js';
import { emailLog } from '../../src/db/schema.js';
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
 * Waits until no email is `queued` or `sending`: the deliveries a test's requests started in the
 * background are over (e.g. before counting the queries of the next request).
 */
export async function waitForEmailsSettled(db: Database, timeoutMs = 10_000): Promise<void> {
  const pending = await db
    .select({ id: emailLog.id })
    .from(emailLog)
    .where(inArray(emailLog.status, ['queued', 'sending']));
  await waitForEmailRows(
    db,
    pending.map((row) => row.id),
    { timeoutMs },
  );
}
