import { and, count, desc, eq, gt, inArray, lt, or, type SQL, sql } from 'drizzle-orm';
import type { Database, Transaction } from '../db/client.js';
import { emailLog } from '../db/schema.js';
import { deriveKey, seal } from './crypto.js';
import { type EmailKeys, renderFor } from './render.js';
import { type EmailTemplateName, TEMPLATES, type TemplateDataMap } from './templates/index.js';

export type EmailStatus = (typeof emailLog.status.enumValues)[number];
export const EMAIL_STATUSES = emailLog.status.enumValues;

/** Where the rows go: a transaction (the normal case) or the database itself (jobs, sweeps). */
export type DbOrTx = Database | Transaction;

export interface QueueEmailInput<K extends EmailTemplateName> {
  to: string;
  /** The recipient's account, when there is one (null for addresses without an account). */
  userId: number | null;
  template: K;
  data: TemplateDataMap[K];
  /** Unique per (event, recipient), e.g. `comment:123:user:45`: a replayed event queues nothing. */
  dedupeKey: string;
}

export function sealingKey(jwtSecret: string): Buffer {
  return deriveKey(jwtSecret, 'email-log-secrets');
}

/**
 * Writes the email's log row inside the caller's transaction, so the email exists exactly when
 * the change that caused it commits. Returns the row id to enqueue after commit, or null when
 * the dedupe key was already used (nothing to send).
 *
 * Secret fields (one-time tokens) are sealed with AES-GCM, never stored in clear.
 */
export async function queueEmail<K extends EmailTemplateName>(
  tx: DbOrTx,
  keys: EmailKeys,
  input: QueueEmailInput<K>,
): Promise<number | null> {
  const [id] = await queueEmails(tx, keys, [input]);
  return id ?? null;
}

/**
 * queueEmail for many recipients in one INSERT (fan-out, digest). Returns the ids of the rows
 * actually inserted; deduplicated ones are left out.
 */
export async function queueEmails<K extends EmailTemplateName>(
  tx: DbOrTx,
  keys: EmailKeys,
  inputs: readonly QueueEmailInput<K>[],
): Promise<number[]> {
  if (inputs.length === 0) return [];
  const key = sealingKey(keys.jwtSecret);
  const rows = inputs.map((input) => {
    const secrets: Record<string, unknown> = {};
    const payload: Record<string, unknown> = { ...input.data };
    for (const field of TEMPLATES[input.template].secretFields) {
      secrets[field] = payload[field];
      delete payload[field];
    }
    // Rendering now checks the data early and gives the log a subject; the body is rendered
    // again at send time from the same data, so the log never holds a usable link.
    const { subject } = renderFor(keys, input.template, input.data, input.userId);
    return {
      userId: input.userId,
      recipient: input.to.trim().toLowerCase(),
      template: input.template,
      subject,
      dedupeKey: input.dedupeKey,
      payload,
      sealedSecrets: Object.keys(secrets).length > 0 ? seal(key, JSON.stringify(secrets)) : null,
    };
  });
  const inserted = await tx
    .insert(emailLog)
    .values(rows)
    .onConflictDoNothing({ target: emailLog.dedupeKey })
    .returning({ id: emailLog.id });
  return inserted.map((row) => row.id);
}

export interface EmailLogFilter {
  to?: string;
  status?: EmailStatus;
  template?: EmailTemplateName;
  limit: number;
  offset: number;
}

export interface EmailLogEntry {
  id: number;
  to: string;
  userId: number | null;
  template: string;
  subject: string;
  status: EmailStatus;
  attempts: number;
  lastError: string | null;
  providerMessageId: string | null;
  dedupeKey: string;
  createdAt: Date;
  updatedAt: Date;
  sentAt: Date | null;
}

/** The admin view of the log, newest first. Payloads stay out: they are for re-rendering only. */
export async function listEmails(
  db: Database,
  filter: EmailLogFilter,
): Promise<{ emails: EmailLogEntry[]; emailsCount: number }> {
  const conditions: SQL[] = [];
  if (filter.to) conditions.push(eq(emailLog.recipient, filter.to.trim().toLowerCase()));
  if (filter.status) conditions.push(eq(emailLog.status, filter.status));
  if (filter.template) conditions.push(eq(emailLog.template, filter.template));
  const where = conditions.length > 0 ? and(...conditions) : undefined;
  const [emails, [total]] = await Promise.all([
    db
      .select({
        id: emailLog.id,
        to: emailLog.recipient,
        userId: emailLog.userId,
        template: emailLog.template,
        subject: emailLog.subject,
        status: emailLog.status,
        attempts: emailLog.attempts,
        lastError: emailLog.lastError,
        providerMessageId: emailLog.providerMessageId,
        dedupeKey: emailLog.dedupeKey,
        createdAt: emailLog.createdAt,
        updatedAt: emailLog.updatedAt,
        sentAt: emailLog.sentAt,
      })
      .from(emailLog)
      .where(where)
      .orderBy(desc(emailLog.createdAt), desc(emailLog.id))
      .limit(filter.limit)
      .offset(filter.offset),
    db.select({ value: count() }).from(emailLog).where(where),
  ]);
  return { emails, emailsCount: total?.value ?? 0 };
}

/**
 * Ids of emails whose send job was apparently lost: still `queued` after `queuedForMs`, or stuck
 * in `sending` (a worker died mid-send) after `sendingForMs`. A periodic sweep enqueues them
 * again; deliverEmail's claim makes a duplicate job harmless.
 */
export async function findEmailsToRequeue(
  db: Database,
  options: { queuedForMs: number; sendingForMs: number; limit: number },
): Promise<number[]> {
  const rows = await findEmailsToSweep(db, { ...options, retryingForMs: options.queuedForMs });
  return rows.map((row) => row.id);
}

export interface SweepOptions {
  /** A row never attempted and still `queued` this long: its enqueue after commit was lost. */
  queuedForMs: number;
  /**
   * A row attempted, back to `queued` and untouched this long: its retry was lost. Longer than
   * the queue's longest backoff, so a retry that is merely waiting is not run early.
   */
  retryingForMs: number;
  /** A row `sending` this long: its worker died mid-send (the delivery lease). */
  sendingForMs: number;
  limit: number;
}

const olderThan = (ms: number) => lt(emailLog.updatedAt, sql`now() - make_interval(secs => ${ms / 1000})`);

/** The rows the `email.sweep` job hands to `email.send` again, with their attempt count. */
export async function findEmailsToSweep(
  db: Database,
  options: SweepOptions,
): Promise<{ id: number; attempts: number }[]> {
  return db
    .select({ id: emailLog.id, attempts: emailLog.attempts })
    .from(emailLog)
    .where(
      or(
        and(eq(emailLog.status, 'queued'), eq(emailLog.attempts, 0), olderThan(options.queuedForMs)),
        and(eq(emailLog.status, 'queued'), gt(emailLog.attempts, 0), olderThan(options.retryingForMs)),
        and(eq(emailLog.status, 'sending'), olderThan(options.sendingForMs)),
      ),
    )
    .orderBy(emailLog.id)
    .limit(options.limit);
}

/** The rows of `dedupeKeys` still waiting to be sent (inserted now or by an earlier, crashed run). */
export async function queuedEmailIds(db: DbOrTx, dedupeKeys: readonly string[]): Promise<number[]> {
  if (dedupeKeys.length === 0) return [];
  const rows = await db
    .select({ id: emailLog.id })
    .from(emailLog)
    .where(and(inArray(emailLog.dedupeKey, [...dedupeKeys]), eq(emailLog.status, 'queued')))
    .orderBy(emailLog.id);
  return rows.map((row) => row.id);
}
