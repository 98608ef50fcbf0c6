import { and, count, desc, eq, type SQL } from 'drizzle-orm';
import type { Database, Queryable } from '../db/client.js';
import { emailLog } from '../db/schema.js';
import { type OutboxRow, recordJobs } from '../jobs/outbox.js';
import { deriveKey, seal } from './crypto.js';
import {
  EMAIL_SEND_BATCH_MAX,
  emailSendBatchDedupeKey,
  emailSendBatchJobType,
  emailSendDedupeKey,
  emailSendJobType,
} from './job-types.js';
import { type EmailKeys, renderFor } from './render.js';
import { type EmailTemplateName, TEMPLATES, type TemplateDataMap } from './templates/index.js';

export type EmailStatus = (typeof emailLog.status.enumValues)[number];
export const EMAIL_STATUSES = emailLog.status.enumValues;

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

/** What queueEmails wrote: the new email_log rows and the outbox rows of the jobs that send them. */
export interface QueuedEmails {
  emailIds: number[];
  /** The outbox rows of their `email.send` job (one email) or `email.send-batch` jobs (more). */
  jobs: OutboxRow[];
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}

/**
 * Writes email_log rows inside the caller's transaction (one INSERT) with the outbox rows of the
 * jobs that send them (one more INSERT): `email.send` for a single email, `email.send-batch` per
 * EMAIL_SEND_BATCH_MAX emails otherwise. The email exists, and will be sent, exactly when the
 * change that caused it commits. A dedupe key used before writes nothing (the email is left out of
 * the result). Services call it through their unit of work (`uow.email`, `uow.emails`), which
 * flushes the jobs after commit.
 *
 * Secret fields (one-time tokens) are sealed with AES-GCM, never stored in clear.
 */
export async function queueEmails<K extends EmailTemplateName>(
  tx: Queryable,
  keys: EmailKeys,
  inputs: readonly QueueEmailInput<K>[],
): Promise<QueuedEmails> {
  if (inputs.length === 0) return { emailIds: [], jobs: [] };
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
  const emailIds = inserted.map((row) => row.id);
  // New email rows, so new dedupe keys. One email is one `email.send`; more go in chunks of
  // `email.send-batch`, so a fan-out costs one job per chunk instead of one per recipient.
  const jobs =
    emailIds.length === 1
      ? await recordJobs(tx, emailSendJobType, [
          {
            payload: { emailId: emailIds[0] as number },
            dedupeKey: emailSendDedupeKey(emailIds[0] as number),
          },
        ])
      : await recordJobs(
          tx,
          emailSendBatchJobType,
          chunks(emailIds, EMAIL_SEND_BATCH_MAX).map((chunk) => ({
            payload: { emailIds: chunk },
            dedupeKey: emailSendBatchDedupeKey(chunk[0] as number),
          })),
        );
  return { emailIds, jobs };
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
