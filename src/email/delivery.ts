import { and, eq, lt, or, sql } from 'drizzle-orm';
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
  /** A row left in `sending` this long belongs to a worker that died: it may be claimed again. */
  sendingLeaseMs?: number;
}

export type DeliveryOutcome =
  | { outcome: 'sent'; messageId: string; file?: string }
  /** Nothing was sent: already sent, already failed, or another worker is sending it right now. */
  | { outcome: 'skipped'; status: 'sent' | 'failed' | 'sending' };

const DEFAULT_SENDING_LEASE_MS = 10 * 60_000;
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
 * The body of the `email.send` job: idempotent, so a retried or duplicated job never sends twice.
 *
 * 1. Claim the row atomically (`queued` → `sending`, attempts + 1); a row already `sent` or
 *    `failed`, or being sent by another worker, is skipped.
 * 2. Render from the stored payload (secrets unsealed) and send.
 * 3. `sent` with the provider's message id; or, on error, back to `queued` with the error
 *    (transient: thrown as TransientEmailError for the queue to retry) or `failed`
 *    (permanent, or out of attempts: thrown as PermanentEmailError).
 *
 * A worker dying between the SMTP answer and step 3 leaves the row `sending`; once the lease
 * passes it is claimed again, so such a crash can (rarely) send twice: at-least-once.
 */
export async function deliverEmail(
  deps: DeliveryDeps,
  emailId: number,
  options: DeliveryOptions,
): Promise<DeliveryOutcome> {
  const { db } = deps;
  const lease = (options.sendingLeaseMs ?? DEFAULT_SENDING_LEASE_MS) / 1000;
  const [row] = await db
    .update(emailLog)
    .set({ status: 'sending', attempts: sql`${emailLog.attempts} + 1`, updatedAt: sql`now()` })
    .where(
      and(
        eq(emailLog.id, emailId),
        or(
          eq(emailLog.status, 'queued'),
          and(
            eq(emailLog.status, 'sending'),
            lt(emailLog.updatedAt, sql`now() - make_interval(secs => ${lease})`),
          ),
        ),
      ),
    )
    .returning();
  if (!row) {
    const [current] = await db
      .select({ status: emailLog.status })
      .from(emailLog)
      .where(eq(emailLog.id, emailId));
    if (!current) throw new PermanentEmailError(`email ${emailId} does not exist`);
    if (current.status === 'queued') throw new TransientEmailError(`email ${emailId} could not be claimed`);
    return { outcome: 'skipped', status: current.status };
  }

  const fail = async (message: string) => {
    await db
      .update(emailLog)
      .set({ status: 'failed', lastError: message, updatedAt: sql`now()` })
      .where(eq(emailLog.id, emailId));
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
    sent = await deps.mailer.send({ to: row.recipient, ...message, headers });
  } catch (error) {
    const description = describeSmtpError(error);
    if (!isTransientSmtpError(error)) throw await fail(description);
    if (row.attempts >= options.maxAttempts) {
      throw await fail(`gave up after ${row.attempts} attempts: ${description}`);
    }
    await db
      .update(emailLog)
      .set({ status: 'queued', lastError: description, updatedAt: sql`now()` })
      .where(eq(emailLog.id, emailId));
    throw new TransientEmailError(`email ${emailId}: ${description}`, { cause: error });
  }

  await db
    .update(emailLog)
    .set({
      status: 'sent',
      providerMessageId: sent.messageId,
      sentAt: sql`now()`,
      updatedAt: sql`now()`,
    })
    .where(eq(emailLog.id, emailId));
  return { outcome: 'sent', messageId: sent.messageId, ...(sent.file ? { file: sent.file } : {}) };
}
