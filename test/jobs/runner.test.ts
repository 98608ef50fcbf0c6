import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobOutbox } from '../../src/db/schema.js';
import { buildRegistry } from '../../src/jobs/registry.js';
import { runAttempt } from '../../src/jobs/runner.js';
import { jobDefinitions, jobTypes } from '../../src/jobs-registry.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { outboxRow } from './support.js';

/**
 * A job another deploy recorded and this one has no handler for: during a rolling deploy a newer
 * API's job (a new job name) can reach a worker that is not replaced yet. The attempt runs with
 * the real runner and outbox; a retry is the queue's to schedule, so the attempts are run here.
 */
describe('a job this deploy has no handler for', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  it('is retried (a worker that knows it may take it), and fails only at its last attempt', async () => {
    const [row] = await t.deps.database.db
      .insert(jobOutbox)
      .values({ name: 'email.from-a-newer-deploy', payload: { emailIds: [1] } })
      .returning({ id: jobOutbox.id });
    if (!row) throw new Error('no row');
    const deps = {
      registry: buildRegistry(jobDefinitions, jobTypes),
      db: t.deps.database.db,
      config: t.config,
      log: pino({ level: 'silent' }),
      jobs: t.deps.jobs,
      services: { mailer: t.deps.mailer, cache: t.deps.cache },
    };
    const attempt = (n: number) =>
      runAttempt(
        deps,
        { payload: { emailIds: [1] }, outboxId: row.id },
        { jobId: row.id, name: 'email.from-a-newer-deploy', attempt: n, maxAttempts: 3 },
      );

    expect((await attempt(1)).outcome).toBe('retry');
    expect(await outboxRow(t, row.id)).toMatchObject({
      status: 'pending',
      attempts: 1,
      lastError: expect.stringMatching(/unknown job name "email.from-a-newer-deploy"/),
    });
    expect((await attempt(2)).outcome).toBe('retry');
    expect((await attempt(3)).outcome).toBe('failed');
    expect(await outboxRow(t, row.id)).toMatchObject({ status: 'failed', attempts: 3 });
  });
});
