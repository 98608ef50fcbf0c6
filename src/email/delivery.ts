import { setTimeout as sleep } from 'node:timers/promises';
import { and, eq, inArray, lt, or, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { emailLog } from '../db/schema.js';
import { unseal } from './crypto.js';
import { sealingKey } from './log.js';
import type { Mailer } from './mailer.js';
import { type EmailKeys, renderFor } from './render.js';
import { isTemplateName, type TemplateDataMap } from './templates/index.js';

/** Retrying cannot help (5xx rejection, unknown email, broken payload): fail the job at once. */
export class PermanentEmailError extends Error {
  override name = 'PermanentEmailError';
}

/** Worth another try later (4xx, connection trouble): the queue retries with backoff. */
export class TransientEmailError extends Error {
  override name = 'TransientEmailError';
}

export interface DeliveryDeps {
  db: Database;
  mailer: Mailer;
  keys: EmailKeys;
}

export interface DeliveryOptions {
  /** After this many attempts (counted on the row) a transient error fails the email for good. */
  maxAttempts: number;
  /**
   * How long a `sending` row is held without a heartbeat. The sending worker renews it (updated_at)
   * every quarter of it; a row older than this belongs to a worker that died and may be claimed
   * again. The job runner passes JOB_LOCK_MS, the lease BullMQ gives the job itself.
   */
  sendingLeaseMs: number;
}

export type DeliveryOutcome =
  | { outcome: 'sent'; messageId: string; file?: string }
  /** Nothing was sent: already sent or already failed. */
  | { outcome: 'skipped'; status: 'sent' | 'failed' };

const CONNECTION_ERRORS = new Set([
  'ECONNECTION',
  'ETIMEDOUT',
  'ESOCKET',
  'EDNS',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ETLS',
  'EPROTOCOL',
]);

interface SmtpError {
  code?: unknown;
  responseCode?: unknown;
  message?: unknown;
}

/**
 * SMTP 5xx is a definitive "no" (RFC 5321 §4.2.1): retrying sends the same refusal. 4xx and
 * connection trouble are temporary by definition. Anything else nodemailer raises before talking
 * to a server (a malformed message or address) cannot get better either.
 */
export function isTransientSmtpError(error: unknown): boolean {
  const { code, responseCode } = (error ?? {}) as SmtpError;
  if (typeof responseCode === 'number') return responseCode >= 400 && responseCode < 500;
  return typeof code === 'string' && CONNECTION_ERRORS.has(code);
}

export function describeSmtpError(error: unknown): string {
  const { code, responseCode, message } = (error ?? {}) as SmtpError;
  const prefix = [responseCode, code].filter((part) => part !== undefined).join(' ');
  const text = typeof message === 'string' ? message : String(error);
  return (prefix ? `${prefix}: ${text}` : text).slice(0, 1000);
}

/**
 * The Message-ID of one email: the same on every attempt, so a copy sent again after a crash is
 * recognisable as the same message (and mail clients that dedupe by it show one). The row's id and
 * creation time keep it unique even when a database is recreated and ids start over.
 */
export function emailMessageId(
  row: { id: number; createdAt: Date },
  senderDomain: string | undefined,
  appUrl: string,
): string {
  const domain = senderDomain ?? new URL(appUrl).hostname;
  return `<email-${row.id}.${row.createdAt.getTime().toString(36)}@${domain}>`;
}

/**
 * Renews the leases (`updated_at`) of claimed rows every quarter of the lease, one statement per
 * beat, while this worker sends: a slow send is never claimed twice, and a dead worker's rows are
 * free a lease after its last beat. `held` maps each row still being worked on to the attempt
 * count of its claim (only that claim, still `sending`, is renewed); the caller deletes a row once
 * it is finished.
 */
function holdLeases(db: Database, held: ReadonlyMap<number, number>, leaseMs: number): () => void {
  const timer = setInterval(() => {
    if (held.size === 0) return;
    const claims = [...held].map(([id, attempts]) =>
      and(eq(emailLog.id, id), eq(emailLog.attempts, attempts)),
    );
    db.update(emailLog)
      .set({ updatedAt: sql`now()` })
      .where(and(eq(emailLog.status, 'sending'), or(...claims)))
      // A missed beat only brings the lease's end nearer; the next beat tries again.
      .catch(() => {});
  }, leaseMs / 4);
  timer.unref();
  return () => clearInterval(timer);
}

/** A row that may be claimed: `queued`, or `sending` with its lease run out. */
const claimable = (leaseMs: number) =>
  or(
    eq(emailLog.status, 'queued'),
    and(
      eq(emailLog.status, 'sending'),
      lt(emailLog.updatedAt, sql`now() - make_interval(secs => ${leaseMs / 1000})`),
    ),
  );

/**
 * `queued` → `sending` (attempts + 1), or a `sending` row whose lease ran out, for each row of
 * `emailIds` in one statement: the rows it claimed (the others are held, final or missing).
 */
function claim(db: Database, emailIds: readonly number[], leaseMs: number) {
  return db
    .update(emailLog)
    .set({ status: 'sending', attempts: sql`${emailLog.attempts} + 1`, updatedAt: sql`now()` })
    .where(and(inArray(emailLog.id, [...emailIds]), claimable(leaseMs)))
    .returning();
}

/** The row's status and, by the database clock, how long its current lease still runs. */
async function heldState(db: Database, emailId: number, leaseMs: number) {
  const [current] = await db
    .select({
      status: emailLog.status,
      leaseLeftMs: sql<number>`greatest(0, ${leaseMs} - extract(epoch from now() - ${emailLog.updatedAt}) * 1000)::float8`,
    })
    .from(emailLog)
    .where(eq(emailLog.id, emailId));
  return current ? { status: current.status, leaseLeftMs: Number(current.leaseLeftMs) } : undefined;
}

/**
 * The body of the `email.send` job: idempotent, so a retried or duplicated job never sends twice.
 *
 * 1. Claim the row atomically (`queued` → `sending`, attempts + 1); a row already `sent` or
 *    `failed` is skipped. A row another worker holds is waited for until its lease ends (once),
 *    then retried later by the queue: that worker finishes it, or has died and lets it go.
 * 2. Render from the stored payload (secrets unsealed) and send with the row's own Message-ID,
 *    renewing the lease meanwhile.
 * 3. `sent` with the message id; or, on error, back to `queued` with the error (transient: thrown
 *    as TransientEmailError for the queue to retry) or `failed` (permanent, or out of attempts:
 *    thrown as PermanentEmailError).
 *
 * At-least-once: a worker dying between the SMTP server's acceptance and step 3 leaves the row
 * `sending`; a lease later it is claimed and sent again, with the same Message-ID. Only the emails
 * in flight at the crash (at most the worker's concurrency) can be repeated.
 */
export async function deliverEmail(
  deps: DeliveryDeps,
  emailId: number,
  options: DeliveryOptions,
): Promise<DeliveryOutcome> {
  const { db } = deps;
  const lease = options.sendingLeaseMs;
  let [row] = await claim(db, [emailId], lease);
  let current = row ? undefined : await heldState(db, emailId, lease);
  if (current?.status === 'sending') {
    // Usually a crashed worker's job, run again by BullMQ's stall check just before the dead
    // worker's lease ends: wait out the rest and claim, rather than going behind the backlog.
    await sleep(current.leaseLeftMs + 50);
    [row] = await claim(db, [emailId], lease);
    current = row ? undefined : await heldState(db, emailId, lease);
  }
  if (!row) {
    if (!current) throw new PermanentEmailError(`email ${emailId} does not exist`);
    if (current.status === 'queued') throw new TransientEmailError(`email ${emailId} could not be claimed`);
    if (current.status === 'sending') {
      throw new TransientEmailError(`email ${emailId} is being sent by another worker; retrying later`);
    }
    return { outcome: 'skipped', status: current.status };
  }

  const release = holdLeases(db, new Map([[emailId, row.attempts]]), options.sendingLeaseMs);
  try {
    return await sendClaimed(deps, row, options);
  } finally {
    release();
  }
}

/** Sends in flight at once within one batch: the SMTP pool's default connection count. */
const BATCH_SEND_CONCURRENCY = 5;

export interface BatchDeliveryOutcome {
  sent: number;
  skipped: number;
  /** Rows that failed for good (their status says `failed`, with the reason). */
  failed: PermanentEmailError[];
  /** Rows back to `queued` (or held by another worker), worth another attempt of the batch. */
  retry: TransientEmailError[];
}

/**
 * The body of the `email.send-batch` job: every row delivered as `deliverEmail` delivers one, a
 * few at a time. The claimable rows are claimed in one statement and their leases renewed in one
 * statement per beat; then each is sent, recorded or failed on its own, so one bad address fails
 * only its row and a dying worker repeats only the emails on the wire. A row that could not be
 * claimed (held by another worker, already sent or failed) goes through `deliverEmail`, which
 * waits for it or skips it. Never throws for a row's outcome: the caller decides what the
 * batch's outcomes mean for the job.
 */
export async function deliverEmails(
  deps: DeliveryDeps,
  emailIds: readonly number[],
  options: DeliveryOptions,
): Promise<BatchDeliveryOutcome> {
  const outcome: BatchDeliveryOutcome = { sent: 0, skipped: 0, failed: [], retry: [] };
  const rows = await claim(deps.db, emailIds, options.sendingLeaseMs);
  const held = new Map(rows.map((row) => [row.id, row.attempts]));
  const work = [
    ...rows.map((row) => ({
      emailId: row.id,
      deliver: () => sendClaimed(deps, row, options).finally(() => held.delete(row.id)),
    })),
    ...emailIds
      .filter((emailId) => !held.has(emailId))
      .map((emailId) => ({ emailId, deliver: () => deliverEmail(deps, emailId, options) })),
  ];
  let next = 0;
  const lane = async () => {
    for (let item = work[next++]; item; item = work[next++]) {
      try {
        const result = await item.deliver();
        if (result.outcome === 'sent') outcome.sent += 1;
        else outcome.skipped += 1;
      } catch (error) {
        if (error instanceof PermanentEmailError) outcome.failed.push(error);
        else if (error instanceof TransientEmailError) outcome.retry.push(error);
        // A database error while claiming or recording: the row is claimable again after its
        // lease, so the batch is retried like a transient failure.
        else {
          const message = `email ${item.emailId}: ${String(error)}`;
          outcome.retry.push(new TransientEmailError(message, { cause: error }));
        }
      }
    }
  };
  const stopLeases = holdLeases(deps.db, held, options.sendingLeaseMs);
  try {
    await Promise.all(Array.from({ length: Math.min(BATCH_SEND_CONCURRENCY, work.length) }, lane));
  } finally {
    stopLeases();
  }
  return outcome;
}

type ClaimedRow = typeof emailLog.$inferSelect;

async function sendClaimed(
  deps: DeliveryDeps,
  row: ClaimedRow,
  options: DeliveryOptions,
): Promise<DeliveryOutcome & { outcome: 'sent' }> {
  const { db } = deps;
  const emailId = row.id;
  // Only this claim may move the row on: after a lost lease another worker's claim owns it.
  const ours = and(
    eq(emailLog.id, emailId),
    eq(emailLog.status, 'sending'),
    eq(emailLog.attempts, row.attempts),
  );

  const fail = async (message: string) => {
    await db
      .update(emailLog)
      .set({ status: 'failed', lastError: message, updatedAt: sql`now()` })
      .where(ours);
    return new PermanentEmailError(`email ${emailId}: ${message}`);
  };

  let message: ReturnType<typeof renderFor>;
  try {
    if (!isTemplateName(row.template)) throw new Error(`unknown template "${row.template}"`);
    const secrets = row.sealedSecrets
      ? (JSON.parse(unseal(sealingKey(deps.keys.jwtSecret), row.sealedSecrets)) as Record<string, unknown>)
      : {};
    // queueEmails wrote this payload from the same template's typed data (secrets split off).
    const data = { ...row.payload, ...secrets } as unknown as TemplateDataMap[typeof row.template];
    message = renderFor(deps.keys, row.template, data, row.userId);
  } catch (error) {
    throw await fail(`cannot render: ${error instanceof Error ? error.message : String(error)}`);
  }

  let sent: Awaited<ReturnType<Mailer['send']>>;
  try {
    // The template's name rides along, so the development inbox (/dev/mail) can show it.
    const headers = { ...message.headers, 'X-Conduit-Template': row.template };
    sent = await deps.mailer.send({
      to: row.recipient,
      ...message,
      headers,
      messageId: emailMessageId(row, deps.mailer.senderDomain, deps.keys.appUrl),
    });
  } catch (error) {
    const description = describeSmtpError(error);
    if (!isTransientSmtpError(error)) throw await fail(description);
    if (row.attempts >= options.maxAttempts) {
      throw await fail(`gave up after ${row.attempts} attempts: ${description}`);
    }
    await db
      .update(emailLog)
      .set({ status: 'queued', lastError: description, updatedAt: sql`now()` })
      .where(ours);
    throw new TransientEmailError(`email ${emailId}: ${description}`, { cause: error });
  }

  // Recorded whoever holds the row now: the SMTP server accepted it, so it is sent.
  await db
    .update(emailLog)
    .set({
      status: 'sent',
      providerMessageId: sql`${sql.placeholder('messageId')}`,
      sentAt: sql`now()`,
      updatedAt: sql`now()`,
    })
    .where(eq(emailLog.id, sql.placeholder('id')))
    // Named, once per email: PostgreSQL plans it once per connection.
    .prepare('email_sent')
    .execute({ id: emailId, messageId: sent.messageId });
  return { outcome: 'sent', messageId: sent.messageId, ...(sent.file ? { file: sent.file } : {}) };
}
