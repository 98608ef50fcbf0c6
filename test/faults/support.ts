import { randomBytes } from 'node:crypto';
import { inArray, sql } from 'drizzle-orm';
import { emailLog } from '../../src/db/schema.js';
import { EMAIL_SEND_BATCH_MAX } from '../../src/email/job-types.js';
import { queueEmails } from '../../src/email/log.js';
import type { TestApp } from '../support/app.js';
import type { Inbox, InboxServer } from '../support/inbox.js';

/**
 * Fault-injection suites: real PostgreSQL, Redis, SMTP and `src/worker.ts` processes, with one
 * dependency broken on purpose. Short locks and backoffs keep each suite under a minute; the
 * bounds they prove scale with JOB_LOCK_MS (30 s in production).
 */
export const FAULT_JOBS_ENV = {
  JOB_LOCK_MS: '2000',
  JOB_BACKOFF_MS: '200',
  OUTBOX_SWEEP_INTERVAL: '1s',
};

export interface Burst {
  ids: number[];
  /** The outbox rows of their `email.send-batch` jobs (50 emails each), for `jobs.flush`. */
  jobIds: string[];
  /** Each email's own inbox: a second copy of one email is a second message in its inbox. */
  inboxOf: Map<number, Inbox>;
}

/** `count` verification emails, each to a fresh inbox, committed with their jobs and not yet enqueued. */
export async function queueBurst(t: TestApp, mail: InboxServer, count: number): Promise<Burst> {
  const run = randomBytes(4).toString('hex');
  const inboxes = Array.from({ length: count }, () => mail.createInbox());
  const byRecipient = new Map(inboxes.map((inbox) => [inbox.emailAddress.toLowerCase(), inbox]));
  const { emailIds: ids, jobs } = await t.deps.database.db.transaction((tx) =>
    queueEmails(
      tx,
      t.config,
      inboxes.map((inbox, i) => ({
        to: inbox.emailAddress,
        userId: null,
        template: 'verify-email' as const,
        data: { username: `burst_${i}`, token: `token-${run}-${i}` },
        dedupeKey: `burst:${run}:${i}`,
      })),
    ),
  );
  const jobIds = jobs.map((job) => job.id);
  if (ids.length !== count || jobIds.length !== Math.ceil(count / EMAIL_SEND_BATCH_MAX)) {
    throw new Error(`queued ${ids.length} of ${count} emails in ${jobIds.length} jobs`);
  }
  const rows = await t.deps.database.db
    .select({ id: emailLog.id, recipient: emailLog.recipient })
    .from(emailLog)
    .where(inArray(emailLog.id, ids));
  const inboxOf = new Map(rows.map((row) => [row.id, byRecipient.get(row.recipient) as Inbox]));
  return { ids, jobIds, inboxOf };
}

/** The burst's rows by status, and how long the oldest `sending` one has gone without a heartbeat. */
export async function burstState(t: TestApp, ids: readonly number[]) {
  const rows = await t.deps.database.db
    .select({
      id: emailLog.id,
      status: emailLog.status,
      attempts: emailLog.attempts,
      lastError: emailLog.lastError,
      providerMessageId: emailLog.providerMessageId,
      heldForMs: sql<number>`(extract(epoch from now() - ${emailLog.updatedAt}) * 1000)::float8`,
    })
    .from(emailLog)
    .where(inArray(emailLog.id, [...ids]));
  const count = (status: string) => rows.filter((row) => row.status === status).length;
  const sending = rows.filter((row) => row.status === 'sending');
  return {
    rows,
    queued: count('queued'),
    sending: sending.length,
    sent: count('sent'),
    failed: count('failed'),
    oldestSendingMs: Math.max(0, ...sending.map((row) => Number(row.heldForMs))),
  };
}
