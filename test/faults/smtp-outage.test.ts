import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { removeQueueKeys, waitFor } from '../jobs/support.js';
import { createTestApp, type TestApp, testDatabaseKind } from '../support/app.js';
import { type InboxServer, startInboxServer } from '../support/inbox.js';
import { describeWithRedis, TEST_REDIS_URL } from '../support/services.js';
import { insertUser } from '../support/users.js';
import { startWorkerFor, type WorkerProcess } from '../worker/process.js';
import { burstState, FAULT_JOBS_ENV, queueBurst } from './support.js';

const BURST = 30;

/**
 * The SMTP relay goes down under a worker busy with a burst, and comes back on the same port.
 * (test/email and test/modules/notifications cover one email in-process; this is the worker.)
 */
describeWithRedis.runIf(testDatabaseKind === 'postgres')('SMTP down and back', () => {
  let mail: InboxServer;
  let t: TestApp;
  let worker: WorkerProcess | undefined;
  const prefix = `faults-smtp-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    mail = await startInboxServer();
    const env = { ...FAULT_JOBS_ENV, SMTP_URL: mail.url, QUEUE_PREFIX: prefix };
    t = await createTestApp({ ...env, REDIS_URL: TEST_REDIS_URL, RUN_JOBS_IN_API: 'false' });
    worker = await startWorkerFor(t, env);
  });
  afterAll(async () => {
    if (worker && worker.child.exitCode === null && worker.child.signalCode === null) worker.kill('SIGKILL');
    await worker?.exited;
    await t?.close();
    await mail?.close();
    await removeQueueKeys(prefix);
  });

  it('every email is retried through the outage and delivered once it returns: none lost, none failed, none twice', async () => {
    await mail.stop();
    const burst = await queueBurst(t, mail, BURST);
    await t.deps.jobs.flush(burst.jobIds);
    try {
      // Every email has met the outage at least twice: back in `queued`, the error recorded.
      const during = await waitFor(
        'every email to be retried',
        async () => {
          const state = await burstState(t, burst.ids);
          return state.rows.every((row) => row.attempts >= 2) ? state : undefined;
        },
        20_000,
      );
      expect(during.failed).toBe(0);
      for (const row of during.rows.filter((candidate) => candidate.status === 'queued')) {
        expect(row.lastError).toMatch(/ECONNREFUSED|ECONNECTION|ESOCKET/);
      }
      // What an operator sees: the admin email log lists them queued with the error...
      const admin = await insertUser(t, { role: 'admin' });
      const log = await t.app.inject({
        method: 'GET',
        url: '/api/admin/emails?status=queued&limit=100',
        headers: admin.headers,
      });
      expect(log.json().emails.length).toBeGreaterThan(0);
      expect(log.json().emails[0].lastError).toMatch(/ECONNREFUSED|ECONNECTION|ESOCKET/);
      // ...and the worker logs each attempt of the burst's batch as a retry.
      expect(worker?.lines.some((line) => line.job === 'email.send-batch' && line.outcome === 'retry')).toBe(
        true,
      );
    } finally {
      await mail.start();
    }

    const done = await waitFor(
      'every email to be sent',
      async () => {
        const state = await burstState(t, burst.ids);
        return state.sent + state.failed === BURST ? state : undefined;
      },
      40_000,
    );
    expect(done.sent).toBe(BURST);
    for (const id of burst.ids) expect(mail.emails(burst.inboxOf.get(id) ?? never())).toHaveLength(1);
  }, 90_000);
});

function never(): never {
  throw new Error('no inbox for this email');
}
