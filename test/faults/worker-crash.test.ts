import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { removeQueueKeys, waitFor } from '../jobs/support.js';
import { createTestApp, type TestApp, testDatabaseKind } from '../support/app.js';
import { type InboxServer, startInboxServer } from '../support/inbox.js';
import { describeWithRedis, TEST_REDIS_URL } from '../support/services.js';
import { startWorkerFor, type WorkerProcess } from '../worker/process.js';
import { burstState, FAULT_JOBS_ENV, queueBurst } from './support.js';

const BURST = 100;
const CONCURRENCY = 5;
/** The mailer's pooled connections (src/email/mailer.ts): the sends one process has on the wire. */
const SMTP_POOL_CONNECTIONS = 5;
const LOCK_MS = Number(FAULT_JOBS_ENV.JOB_LOCK_MS);
/**
 * How long a dead worker's row may stay `sending`: its lease (JOB_LOCK_MS) plus BullMQ's stall
 * check (another JOB_LOCK_MS) and slack for a loaded machine. In production, about a minute.
 */
const STUCK_BOUND_MS = 5 * LOCK_MS;

// Worker processes need PostgreSQL: in the pglite project this runs as skipped.
describeWithRedis.runIf(testDatabaseKind === 'postgres')(
  'a worker SIGKILLed during a burst of emails',
  () => {
    let mail: InboxServer;
    let t: TestApp;
    const prefix = `faults-crash-${randomBytes(4).toString('hex')}`;
    const workers: WorkerProcess[] = [];

    beforeAll(async () => {
      mail = await startInboxServer();
      t = await createTestApp({
        ...FAULT_JOBS_ENV,
        SMTP_URL: mail.url,
        REDIS_URL: TEST_REDIS_URL,
        QUEUE_PREFIX: prefix,
        RUN_JOBS_IN_API: 'false',
      });
    });
    afterAll(async () => {
      for (const worker of workers) {
        if (worker.child.exitCode === null && worker.child.signalCode === null) worker.kill('SIGKILL');
        await worker.exited;
      }
      await t?.close();
      await mail?.close();
      await removeQueueKeys(prefix);
    });

    it('delivers every email; a dead worker’s rows are free within the lease; only its in-flight emails repeat, with their Message-ID', async () => {
      const env = {
        ...FAULT_JOBS_ENV,
        QUEUE_PREFIX: prefix,
        SMTP_URL: mail.url,
        WORKER_CONCURRENCY: String(CONCURRENCY),
      };
      const [doomed, survivor] = await Promise.all([startWorkerFor(t, env), startWorkerFor(t, env)]);
      workers.push(doomed, survivor);
      // A slow relay: each message is filed 300 ms before the client hears "250 OK", so a worker
      // killed meanwhile has delivered emails it never recorded as sent.
      mail.delayReplies(300);
      const burst = await queueBurst(t, mail, BURST);
      await t.deps.jobs.flush(burst.jobIds);

      const received = () =>
        burst.ids.reduce((n, id) => n + mail.emails(burst.inboxOf.get(id) ?? never()).length, 0);
      await waitFor('the first 20 emails to arrive', () => received() >= 20, 30_000);
      doomed.kill('SIGKILL');
      expect(await doomed.exited).toMatchObject({ signal: 'SIGKILL' });
      const atKill = await burstState(t, burst.ids);

      // The survivor finishes the burst; meanwhile no row goes without a heartbeat past the bound.
      let oldestSendingMs = 0;
      const deadline = Date.now() + 45_000;
      for (;;) {
        const state = await burstState(t, burst.ids);
        oldestSendingMs = Math.max(oldestSendingMs, state.oldestSendingMs);
        if (state.sent + state.failed === BURST) break;
        if (Date.now() > deadline) {
          throw new Error(
            `not finished: ${JSON.stringify({ ...state, rows: undefined })}\n${survivor.output}`,
          );
        }
        await sleep(100);
      }
      console.info(
        `worker crash: ${atKill.sending} sending at the kill; longest a row stayed sending without a heartbeat: ${Math.round(oldestSendingMs)} ms (bound ${STUCK_BOUND_MS} ms)`,
      );
      expect(oldestSendingMs).toBeLessThan(STUCK_BOUND_MS);

      const { rows } = await burstState(t, burst.ids);
      expect(rows.every((row) => row.status === 'sent')).toBe(true);
      const copies = rows.map((row) => ({ row, emails: mail.emails(burst.inboxOf.get(row.id) ?? never()) }));
      // Every email arrived; each under the Message-ID its row records.
      for (const { row, emails } of copies) {
        expect(emails.length).toBeGreaterThanOrEqual(1);
        for (const email of emails) expect(email.headers.get('message-id')).toBe(row.providerMessageId);
      }
      // Repeats: only what the killed worker had on the wire, at most its SMTP pool's connections
      // (however many batches and sends it had started). With replies this slow it practically
      // always has some (the same-Message-ID check above then covers them).
      const repeated = copies.filter(({ emails }) => emails.length > 1);
      console.info(`worker crash: ${repeated.length} emails delivered twice`);
      expect(repeated.length).toBeLessThanOrEqual(SMTP_POOL_CONNECTIONS);
      expect(repeated.length).toBeGreaterThanOrEqual(1);
      expect(repeated.every(({ emails }) => emails.length === 2)).toBe(true);
    }, 90_000);
  },
);

function never(): never {
  throw new Error('no inbox for this email');
}
