import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { emailRowsTo, waitForEmailRows } from '../../email/wait.js';
import { removeQueueKeys, waitFor } from '../../jobs/support.js';
import { createTestApp, type TestApp, testDatabaseKind } from '../../support/app.js';
import { type InboxServer, startInboxServer } from '../../support/inbox.js';
import { describeWithRedis, TEST_REDIS_URL } from '../../support/services.js';
import { insertUser } from '../../support/users.js';
import { startWorkerFor, type WorkerProcess } from '../../worker/process.js';

/**
 * Production's shape: the API only enqueues (BullMQ), a separate `src/worker.ts` process sends
 * over SMTP. A worker needs PostgreSQL (PGlite is one process's), so the pglite project skips.
 */
describeWithRedis.runIf(testDatabaseKind === 'postgres')('email through a worker process', () => {
  let t: TestApp;
  let mail: InboxServer;
  let worker: WorkerProcess;
  const prefix = `email-worker-${randomBytes(4).toString('hex')}`;
  const jobsEnv = { JOB_BACKOFF_MS: '50', APP_URL: 'https://conduit.example' };

  beforeAll(async () => {
    mail = await startInboxServer();
    t = await createTestApp({
      ...jobsEnv,
      SMTP_URL: mail.url,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: prefix,
      RUN_JOBS_IN_API: 'false',
    });
    worker = await startWorkerFor(t, { ...jobsEnv, QUEUE_PREFIX: prefix, SMTP_URL: mail.url });
  }, 60_000);
  afterAll(async () => {
    if (worker && worker.child.exitCode === null && worker.child.signalCode === null) {
      worker.kill('SIGTERM');
      await worker.exited;
    }
    await t?.close();
    await mail?.close();
    await removeQueueKeys(prefix);
  });

  it('a follow in the API is emailed by the worker, with a working unsubscribe link', async () => {
    const inbox = mail.createInbox();
    const star = await insertUser(t, { username: `ws_${inbox.id.slice(0, 8)}`, email: inbox.emailAddress });
    const fan = await insertUser(t);
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/profiles/${star.username}/follow`,
      headers: fan.headers,
    });
    expect(res.statusCode).toBe(200);
    const email = await mail.waitForLatestEmail(inbox, 15_000);
    expect(email.subject).toBe(`${fan.username} is now following you`);
    const [row] = await emailRowsTo(t.deps.database.db, star.email);
    const [sent] = await waitForEmailRows(t.deps.database.db, [row?.id ?? 0]);
    expect(sent).toMatchObject({ status: 'sent', attempts: 1 });
    await waitFor('the attempt line', () =>
      worker.lines.some((line) => line.job === 'email.send' && line.outcome === 'completed'),
    );
  });
});
