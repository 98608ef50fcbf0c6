import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordJob } from '../../src/jobs/outbox.js';
import { probeJobType } from '../../src/jobs/system-jobs.js';
import { removeQueueKeys, settledRow, uniqueKey, waitFor } from '../jobs/support.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { describeWithRedis, TEST_REDIS_URL } from '../support/services.js';

/** The value of one sample line, e.g. `conduit_jobs{state="completed"} 3`. */
function sample(body: string, series: string): number | undefined {
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function runProbe(t: TestApp) {
  const id = await t.deps.database.db.transaction((tx) =>
    recordJob(tx, probeJobType, { key: uniqueKey('metrics') }),
  );
  await t.deps.jobs.flush([id]);
  return settledRow(t, id);
}

function metricsSuite(label: string, env: () => Record<string, string | undefined>) {
  describe(label, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp(env());
    });
    afterAll(async () => {
      await t?.close();
      if (t?.deps.jobs.bullmq) await removeQueueKeys(t.config.jobs.queuePrefix);
    });

    const metrics = async () => {
      const res = await t.app.inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      return res.body;
    };

    it('exposes job counts by state in Prometheus format', async () => {
      expect((await runProbe(t)).status).toBe('done');
      const body = await waitFor('a completed job in /metrics', async () => {
        const text = await metrics();
        return (sample(text, 'conduit_jobs{state="completed"}') ?? 0) >= 1 ? text : undefined;
      });
      for (const state of ['waiting', 'active', 'delayed', 'failed']) {
        expect(sample(body, `conduit_jobs{state="${state}"}`)).toEqual(expect.any(Number));
      }
      expect(sample(body, 'conduit_jobs_queue_up')).toBe(1);
      expect(body).toContain('# TYPE process_cpu_user_seconds_total counter');
    });

    it('times requests by route pattern, not raw URL', async () => {
      await t.app.inject({ method: 'GET', url: '/health/live' });
      const body = await metrics();
      expect(
        sample(
          body,
          'http_request_duration_seconds_count{method="GET",route="/health/live",status_code="200"}',
        ),
      ).toBeGreaterThanOrEqual(1);
    });

    it('reports the queue in /health/ready', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/health/ready' });
      expect(res.statusCode).toBe(200);
      const { checks } = res.json();
      expect(checks.jobs).toMatchObject({
        status: 'up',
        detail: {
          mode: t.deps.jobs.mode,
          waiting: expect.any(Number),
          active: expect.any(Number),
          delayed: expect.any(Number),
          completed: expect.any(Number),
          failed: expect.any(Number),
        },
      });
      if (t.deps.jobs.mode === 'bullmq') expect(checks.redis).toMatchObject({ status: 'up' });
    });
  });
}

metricsSuite('metrics and readiness: embedded', () => ({ REDIS_URL: undefined }));

describeWithRedis('with Redis', () => {
  metricsSuite('metrics and readiness: BullMQ', () => ({
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: uniqueKey('metrics'),
    RUN_JOBS_IN_API: 'true',
  }));
});
