import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { emailLog, jobOutbox } from '../../src/db/schema.js';
import {
  type DeliveryOptions,
  deliverEmail,
  deliverEmails,
  PermanentEmailError,
  TransientEmailError,
} from '../../src/email/delivery.js';
import {
  EMAIL_SEND_BATCH_MAX,
  emailSendBatchDedupeKey,
  emailSendDedupeKey,
} from '../../src/email/job-types.js';
import { runEmailSendBatchJob, runEmailSendJob } from '../../src/email/jobs.js';
import type { QueueEmailInput } from '../../src/email/log.js';
import type { EmailKeys } from '../../src/email/render.js';
import { PermanentJobError } from '../../src/jobs/definition.js';
import { rowsToSweep } from '../../src/jobs/outbox.js';
import { runWrite } from '../../src/unit-of-work.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { type Inbox, type InboxServer, startInboxServer } from '../support/inbox.js';
import { insertUser } from '../support/users.js';
import { writeWithoutFlush } from './unflushed.js';

let mail: InboxServer;
let t: TestApp;
let keys: EmailKeys;

beforeAll(async () => {
  mail = await startInboxServer();
  t = await createTestApp({ SMTP_URL: mail.url, APP_URL: 'https://conduit.example' });
  keys = { jwtSecret: t.config.jwtSecret, appUrl: t.config.appUrl };
});
afterAll(async () => {
  await t?.close();
  await mail?.close();
});

const deliver = (id: number, options: Partial<DeliveryOptions> = {}) =>
  deliverEmail({ db: t.deps.database.db, mailer: t.deps.mailer, keys }, id, {
    maxAttempts: 3,
    sendingLeaseMs: 30_000,
    ...options,
  });

async function row(id: number) {
  const [found] = await t.deps.database.db.select().from(emailLog).where(eq(emailLog.id, id));
  if (!found) throw new Error(`no email ${id}`);
  return found;
}

let sequence = 0;
/** A verification email for a fresh user with their own inbox, queued and not yet sent. */
async function queueVerification(): Promise<{ id: number; inbox: Inbox; token: string }> {
  const inbox = mail.createInbox();
  const user = await insertUser(t, { email: inbox.emailAddress });
  const token = `verify-token-${++sequence}-${inbox.id}`;
  const id = await writeWithoutFlush(t.deps, (uow) =>
    uow.email({
      to: inbox.emailAddress,
      userId: user.id,
      template: 'verify-email',
      data: { username: user.username, token },
      dedupeKey: `verify:${user.id}:${sequence}`,
    }),
  );
  if (id === null) throw new Error('not queued');
  return { id, inbox, token };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

/** The outbox rows of an email's `email.send` job. */
const sendJobsOf = (emailId: number) =>
  t.deps.database.db
    .select()
    .from(jobOutbox)
    .where(eq(jobOutbox.dedupeKey, emailSendDedupeKey(emailId)));

describe('uow.email', () => {
  it('writes the row and its send job in the unit of work: a rollback leaves neither behind', async () => {
    const user = await insertUser(t);
    const dedupeKey = `rollback:${user.id}`;
    let emailId: number | null = null;
    await expect(
      runWrite(t.deps.writes, async (uow) => {
        emailId = await uow.email({
          to: user.email,
          userId: user.id,
          template: 'new-follower',
          data: { followerUsername: 'someone' },
          dedupeKey,
        });
        expect(emailId).toEqual(expect.any(Number));
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    const rows = await t.deps.database.db.select().from(emailLog).where(eq(emailLog.dedupeKey, dedupeKey));
    expect(rows).toEqual([]);
    expect(await sendJobsOf(emailId ?? 0)).toEqual([]);
  });

  it('records one email.send job per email, in the outbox the sweep reads', async () => {
    const { id } = await queueVerification();
    const jobs = await sendJobsOf(id);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ name: 'email.send', payload: { emailId: id }, status: 'pending' });
  });

  it('queues an event once: the same dedupe key again returns null', async () => {
    const user = await insertUser(t);
    const input = {
      to: user.email,
      userId: user.id,
      template: 'new-follower' as const,
      data: { followerUsername: 'someone' },
      dedupeKey: `follow:1:user:${user.id}`,
    };
    const queue = (email: QueueEmailInput<'new-follower'>) =>
      writeWithoutFlush(t.deps, (uow) => uow.email(email));
    const first = await queue(input);
    expect(first).toEqual(expect.any(Number));
    expect(await queue(input)).toBeNull();
    // The replay recorded no second job either.
    expect(await sendJobsOf(first ?? 0)).toHaveLength(1);
    const sends = await t.deps.database.db
      .select()
      .from(jobOutbox)
      .where(and(eq(jobOutbox.name, 'email.send'), sql`${jobOutbox.payload}->>'emailId' = ${String(first)}`));
    expect(sends).toHaveLength(1);
  });

  it('stores the recipient, subject and status, and keeps the one-time token out of the log', async () => {
    const { id, token, inbox } = await queueVerification();
    const stored = await row(id);
    expect(stored).toMatchObject({
      recipient: inbox.emailAddress,
      template: 'verify-email',
      subject: 'Confirm your email address',
      status: 'queued',
      attempts: 0,
      lastError: null,
      providerMessageId: null,
      sentAt: null,
    });
    expect(JSON.stringify(stored)).not.toContain(token);
    expect(stored.payload).not.toHaveProperty('token');
    expect(stored.sealedSecrets).toEqual(expect.any(String));
  });
});

describe('deliverEmail', () => {
  it('sends through SMTP with the working link, records the message id, and never sends twice', async () => {
    const { id, inbox, token } = await queueVerification();
    const result = await deliver(id);
    expect(result).toMatchObject({ outcome: 'sent' });

    const email = await mail.waitForLatestEmail(inbox, 5000);
    expect(email.to).toEqual([inbox.emailAddress]);
    expect(email.subject).toBe('Confirm your email address');
    expect(email.links).toContain(`https://conduit.example/api/auth/verify-email?token=${token}`);

    const sent = await row(id);
    expect(sent).toMatchObject({ status: 'sent', attempts: 1, lastError: null });
    expect(sent.providerMessageId).toBe(email.headers.get('message-id'));
    expect(sent.sentAt).toBeInstanceOf(Date);

    // A retried or duplicated job: nothing is sent again.
    expect(await deliver(id)).toEqual({ outcome: 'skipped', status: 'sent' });
    expect(mail.emails(inbox)).toHaveLength(1);
    expect((await row(id)).attempts).toBe(1);
  });

  it('treats a 4xx refusal as transient: back to queued with the error, delivered on the retry', async () => {
    const { id, inbox } = await queueVerification();
    mail.rejectNext(1, 451, 'Greylisted, come back later');
    const error = await rejection(deliver(id));
    expect(error).toBeInstanceOf(TransientEmailError);
    expect(await row(id)).toMatchObject({
      status: 'queued',
      attempts: 1,
      lastError: expect.stringMatching(/^451 /),
    });

    expect(await deliver(id)).toMatchObject({ outcome: 'sent' });
    expect(await row(id)).toMatchObject({ status: 'sent', attempts: 2 });
    expect(mail.emails(inbox)).toHaveLength(1);
  });

  it('treats a 5xx refusal as permanent: failed at once with the error, never retried', async () => {
    const { id, inbox } = await queueVerification();
    mail.rejectNext(1, 550, 'No such mailbox');
    const error = await rejection(deliver(id));
    expect(error).toBeInstanceOf(PermanentEmailError);
    expect(await row(id)).toMatchObject({
      status: 'failed',
      attempts: 1,
      lastError: expect.stringMatching(/^550 .*No such mailbox/),
    });
    expect(await deliver(id)).toEqual({ outcome: 'skipped', status: 'failed' });
    expect(mail.emails(inbox)).toEqual([]);
  });

  it('SMTP down: retries until the attempts run out, then fails with the connection error in the log', async () => {
    const { id, inbox } = await queueVerification();
    await mail.stop();
    try {
      expect(await rejection(deliver(id))).toBeInstanceOf(TransientEmailError);
      expect(await rejection(deliver(id))).toBeInstanceOf(TransientEmailError);
      expect(await row(id)).toMatchObject({ status: 'queued', attempts: 2 });
      const last = await rejection(deliver(id));
      expect(last).toBeInstanceOf(PermanentEmailError);
    } finally {
      await mail.start();
    }
    const failed = await row(id);
    expect(failed).toMatchObject({ status: 'failed', attempts: 3 });
    expect(failed.lastError).toMatch(/^gave up after 3 attempts: .*E(CONNECTION|SOCKET)/);
    expect(mail.emails(inbox)).toEqual([]);
  });

  it('SMTP back within the retry window: delivered exactly once', async () => {
    const { id, inbox } = await queueVerification();
    await mail.stop();
    try {
      expect(await rejection(deliver(id))).toBeInstanceOf(TransientEmailError);
    } finally {
      await mail.start();
    }
    expect(await deliver(id)).toMatchObject({ outcome: 'sent' });
    expect(await deliver(id)).toEqual({ outcome: 'skipped', status: 'sent' });
    expect(await mail.waitForEmails(inbox, 1, 5000)).toHaveLength(1);
    expect(mail.emails(inbox)).toHaveLength(1);
    expect(await row(id)).toMatchObject({
      status: 'sent',
      attempts: 2,
      lastError: expect.stringMatching(/E(CONNECTION|SOCKET)/),
    });
  });

  it('leaves a row another worker holds alone (retry later), and takes it over a lease after that worker stops', async () => {
    const { id, inbox } = await queueVerification();
    const db = t.deps.database.db;
    await db.update(emailLog).set({ status: 'sending', attempts: 1 }).where(eq(emailLog.id, id));
    // The other worker is alive: it renews the row's lease (updated_at) as deliverEmail does.
    const heartbeat = setInterval(() => {
      void db
        .update(emailLog)
        .set({ updatedAt: sql`now()` })
        .where(eq(emailLog.id, id))
        .catch(() => {});
    }, 200);
    let busy: Error;
    try {
      // Waited for (up to a lease), then handed back to the queue, not skipped.
      busy = await rejection(deliver(id, { sendingLeaseMs: 1000 }));
    } finally {
      clearInterval(heartbeat);
    }
    expect(busy).toBeInstanceOf(TransientEmailError);
    expect(busy.message).toMatch(/being sent by another worker/);
    expect(mail.emails(inbox)).toEqual([]);

    // That worker died: its lease runs out, and the waiting job takes the row over and sends it.
    expect(await deliver(id, { sendingLeaseMs: 1000 })).toMatchObject({ outcome: 'sent' });
    expect(await row(id)).toMatchObject({ status: 'sent', attempts: 2 });
    expect(mail.emails(inbox)).toHaveLength(1);
  });

  it('gives every attempt of an email the same Message-ID, on the sender domain, recorded in the log', async () => {
    const { id, inbox } = await queueVerification();
    // The first attempt reaches the server and is refused; the second is accepted.
    mail.rejectNext(1, 451, 'Greylisted');
    await rejection(deliver(id));
    expect(await deliver(id)).toMatchObject({ outcome: 'sent' });
    const email = await mail.waitForLatestEmail(inbox, 5000);
    const stored = await row(id);
    const expected = `<email-${id}.${stored.createdAt.getTime().toString(36)}@conduit.localhost>`;
    expect(email.headers.get('message-id')).toBe(expected);
    expect(stored.providerMessageId).toBe(expected);

    // A resend after a crash (the row left `sending`, its lease over) carries the same id.
    await t.deps.database.db
      .update(emailLog)
      .set({ status: 'sending', updatedAt: sql`now() - interval '1 minute'` })
      .where(eq(emailLog.id, id));
    expect(await deliver(id)).toMatchObject({ outcome: 'sent', messageId: expected });
    const copies = await mail.waitForEmails(inbox, 2, 5000);
    expect(copies.map((copy) => copy.headers.get('message-id'))).toEqual([expected, expected]);
  });

  it('renews the lease while a slow send runs, so no other worker claims it meanwhile', async () => {
    const { id, inbox } = await queueVerification();
    mail.delayReplies(4000);
    try {
      const first = deliver(id, { sendingLeaseMs: 1000 });
      await vi.waitFor(async () => expect((await row(id)).status).toBe('sending'), { timeout: 5000 });
      // Two and a half leases later the row is still held: a second worker backs off, sends nothing.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      const second = await rejection(deliver(id, { sendingLeaseMs: 1000 }));
      expect(second).toBeInstanceOf(TransientEmailError);
      expect(await first).toMatchObject({ outcome: 'sent' });
    } finally {
      mail.delayReplies(0);
    }
    expect(mail.emails(inbox)).toHaveLength(1);
    expect(await row(id)).toMatchObject({ status: 'sent', attempts: 1 });
  });

  it('a worker whose lease was taken over does not move the row back when its send fails', async () => {
    const { id, inbox } = await queueVerification();
    mail.rejectNext(1, 451, 'Try again later');
    mail.delayReplies(1500);
    try {
      const failed = rejection(deliver(id));
      await vi.waitFor(async () => expect((await row(id)).status).toBe('sending'), { timeout: 5000 });
      // Meanwhile another worker reclaimed the row (attempts moved on) and sent it.
      await t.deps.database.db
        .update(emailLog)
        .set({ status: 'sent', attempts: 2 })
        .where(eq(emailLog.id, id));
      expect(await failed).toBeInstanceOf(TransientEmailError);
    } finally {
      mail.delayReplies(0);
    }
    expect(await row(id)).toMatchObject({ status: 'sent', attempts: 2 });
    expect(mail.emails(inbox)).toEqual([]);
  });

  it('fails an unknown email permanently', async () => {
    expect(await rejection(deliver(2_000_000_000))).toBeInstanceOf(PermanentEmailError);
  });
});

describe('a lost send', () => {
  it('is found by the outbox sweep: never enqueued, or enqueued long ago and not done; not a fresh one', async () => {
    const fresh = await queueVerification();
    const lost = await queueVerification();
    const stuck = await queueVerification();
    const db = t.deps.database.db;
    const [freshJob] = await sendJobsOf(fresh.id);
    const [lostJob] = await sendJobsOf(lost.id);
    const [stuckJob] = await sendJobsOf(stuck.id);
    if (!freshJob || !lostJob || !stuckJob) throw new Error('no send jobs');
    // Fresh: enqueued just now. Stuck: enqueued long ago, its row left `sending` by a dead worker.
    await db
      .update(jobOutbox)
      .set({ status: 'enqueued', enqueuedAt: sql`now()` })
      .where(eq(jobOutbox.id, freshJob.id));
    await db
      .update(jobOutbox)
      .set({
        status: 'enqueued',
        enqueuedAt: sql`now() - interval '2 hours'`,
        runAt: sql`now() - interval '2 hours'`,
      })
      .where(eq(jobOutbox.id, stuckJob.id));
    await db
      .update(emailLog)
      .set({ status: 'sending', updatedAt: sql`now() - interval '2 hours'` })
      .where(eq(emailLog.id, stuck.id));
    const ids = (await rowsToSweep(db)).map((row) => row.id);
    expect(ids).toContain(lostJob.id);
    expect(ids).toContain(stuckJob.id);
    expect(ids).not.toContain(freshJob.id);
  });
});

describe('the email.send job body', () => {
  const run = (emailId: number) =>
    runEmailSendJob(
      { db: t.deps.database.db, config: { ...keys, jobs: { lockMs: 30_000 } }, maxAttempts: 3 },
      t.deps.mailer,
      { emailId },
    );

  it('sends, retries transient trouble, and turns a permanent refusal into a PermanentJobError', async () => {
    const sent = await queueVerification();
    await run(sent.id);
    expect(await mail.waitForEmails(sent.inbox, 1, 5000)).toHaveLength(1);
    await run(sent.id);
    expect(mail.emails(sent.inbox)).toHaveLength(1);

    const greylisted = await queueVerification();
    mail.rejectNext(1, 452, 'Mailbox full, try later');
    expect(await rejection(run(greylisted.id))).toBeInstanceOf(TransientEmailError);

    const refused = await queueVerification();
    mail.rejectNext(1, 554, 'Rejected');
    const error = await rejection(run(refused.id));
    expect(error).toBeInstanceOf(PermanentJobError);
    expect(error.message).toMatch(/554/);
  });
});

describe('the email.send-batch job', () => {
  const runBatch = (emailIds: number[]) =>
    runEmailSendBatchJob(
      { db: t.deps.database.db, config: { ...keys, jobs: { lockMs: 30_000 } }, maxAttempts: 3 },
      t.deps.mailer,
      { emailIds },
    );

  /** `count` verification emails in one unit of work, each to its own inbox, not yet sent. */
  async function queueMany(count: number) {
    const inboxes = Array.from({ length: count }, () => mail.createInbox());
    const run = ++sequence;
    const ids = await writeWithoutFlush(t.deps, (uow) =>
      uow.emails(
        inboxes.map((inbox, i) => ({
          to: inbox.emailAddress,
          userId: null,
          template: 'verify-email' as const,
          data: { username: `reader_${i}`, token: `batch-token-${run}-${i}` },
          dedupeKey: `batch-test:${run}:${i}`,
        })),
      ),
    );
    return { ids, inboxes };
  }

  it('records one email.send-batch job per EMAIL_SEND_BATCH_MAX emails of a unit of work, none per email', async () => {
    const { ids } = await queueMany(EMAIL_SEND_BATCH_MAX + 1);
    const jobs = await t.deps.database.db
      .select()
      .from(jobOutbox)
      .where(
        sql`${jobOutbox.dedupeKey} in (${emailSendBatchDedupeKey(ids[0] ?? 0)}, ${emailSendBatchDedupeKey(ids[EMAIL_SEND_BATCH_MAX] ?? 0)})`,
      );
    expect(jobs.map((job) => ({ name: job.name, payload: job.payload, status: job.status }))).toEqual([
      {
        name: 'email.send-batch',
        payload: { emailIds: ids.slice(0, EMAIL_SEND_BATCH_MAX) },
        status: 'pending',
      },
      { name: 'email.send-batch', payload: { emailIds: ids.slice(EMAIL_SEND_BATCH_MAX) }, status: 'pending' },
    ]);
    for (const id of ids) expect(await sendJobsOf(id)).toEqual([]);
  });

  it('sends every row once; a rerun sends nothing again', async () => {
    const { ids, inboxes } = await queueMany(7);
    await runBatch(ids);
    for (const inbox of inboxes) expect(await mail.waitForEmails(inbox, 1, 5000)).toHaveLength(1);
    for (const id of ids) expect((await row(id)).status).toBe('sent');
    await runBatch(ids);
    for (const inbox of inboxes) expect(mail.emails(inbox)).toHaveLength(1);
  });

  it('a temporary refusal of one row retries the batch, which then sends only that row', async () => {
    const { ids, inboxes } = await queueMany(3);
    mail.rejectNext(1, 452, 'Mailbox full, try later');
    const error = await rejection(runBatch(ids));
    expect(error).toBeInstanceOf(TransientEmailError);
    expect(error.message).toMatch(/2 sent, 0 skipped, 1 to retry, 0 failed/);
    const statuses = await Promise.all(ids.map(async (id) => (await row(id)).status));
    expect(statuses.sort()).toEqual(['queued', 'sent', 'sent']);

    await runBatch(ids);
    for (const id of ids) expect((await row(id)).status).toBe('sent');
    for (const inbox of inboxes) expect(mail.emails(inbox)).toHaveLength(1);
  });

  it('skips rows already sent, and waits out a row another worker holds before sending it', async () => {
    const { ids, inboxes } = await queueMany(4);
    const [sentBefore, held] = ids;
    await deliver(sentBefore ?? 0);
    // Claimed by a worker that is gone: `sending`, its lease renewed just now.
    await t.deps.database.db
      .update(emailLog)
      .set({ status: 'sending', attempts: 1, updatedAt: sql`now()` })
      .where(eq(emailLog.id, held ?? 0));
    const started = Date.now();
    const outcome = await deliverEmails({ db: t.deps.database.db, mailer: t.deps.mailer, keys }, ids, {
      maxAttempts: 3,
      sendingLeaseMs: 1000,
    });
    expect(outcome).toMatchObject({ sent: 3, skipped: 1, failed: [], retry: [] });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect((await row(held ?? 0)).attempts).toBe(2);
    for (const inbox of inboxes) expect(mail.emails(inbox)).toHaveLength(1);
  });

  it('keeps renewing the lease of the rows it claimed and has not sent yet: another worker never takes one', async () => {
    // 15 rows, 5 at a time, each reply 200 ms late: the last rows wait ~400 ms after their claim,
    // longer than this 400 ms lease.
    const { ids, inboxes } = await queueMany(15);
    const options = { maxAttempts: 3, sendingLeaseMs: 400 };
    const deps = { db: t.deps.database.db, mailer: t.deps.mailer, keys };
    mail.delayReplies(200);
    try {
      const batch = deliverEmails(deps, ids, options);
      await new Promise((resolve) => setTimeout(resolve, 500));
      // Another worker's job for the last row: it finds the row held, waits, and never sends it.
      const other = await deliverEmail(deps, ids.at(-1) ?? 0, options).catch((error: unknown) => error);
      expect(await batch).toMatchObject({ sent: 15, failed: [], retry: [] });
      expect(
        other instanceof TransientEmailError || (other as { outcome?: string }).outcome === 'skipped',
      ).toBe(true);
    } finally {
      mail.delayReplies(0);
    }
    for (const inbox of inboxes) expect(mail.emails(inbox)).toHaveLength(1);
  });

  it('a permanent refusal fails only its row, and the job (no retry); the other rows are sent', async () => {
    const { ids, inboxes } = await queueMany(3);
    mail.rejectNext(1, 554, 'No such user');
    const error = await rejection(runBatch(ids));
    expect(error).toBeInstanceOf(PermanentJobError);
    expect(error.message).toMatch(/2 sent, 0 skipped, 0 to retry, 1 failed.*554/);
    const rows = await Promise.all(ids.map((id) => row(id)));
    expect(rows.map((r) => r.status).sort()).toEqual(['failed', 'sent', 'sent']);
    expect(rows.find((r) => r.status === 'failed')?.lastError).toMatch(/554/);
    const delivered = inboxes.map((inbox) => mail.emails(inbox).length);
    expect(delivered.sort()).toEqual([0, 1, 1]);
  });
});
