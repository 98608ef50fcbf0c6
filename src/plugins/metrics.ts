import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { Type } from 'typebox';
import type { QueueCounts } from '../jobs/queue.js';

export interface MetricsPluginOptions {
  jobs: { counts(): Promise<QueueCounts> };
}

/**
 * `/metrics` in Prometheus text format: process metrics, HTTP request durations and background
 * job counts. One registry per app, so several apps in one process (tests) never collide.
 * Expose it on an internal network only (or block it at the proxy): it is unauthenticated.
 */
export const metricsPlugin = fp<MetricsPluginOptions>(
  async (app: FastifyInstance, { jobs }) => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });

    const requestDuration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by method, route pattern and status',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
    app.addHook('onResponse', async (request, reply) => {
      // The route pattern, never the raw URL: ids in paths would explode the label set.
      const route = request.routeOptions.url ?? 'unmatched';
      requestDuration.observe(
        { method: request.method, route, status_code: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      );
    });

    const jobCounts = new Gauge({
      name: 'conduit_jobs',
      help: 'Background jobs by state (completed and failed jobs are kept by age/count)',
      labelNames: ['state'],
      registers: [registry],
    });
    const queueUp = new Gauge({
      name: 'conduit_jobs_queue_up',
      help: '1 when the job queue answered this scrape, 0 when it did not',
      registers: [registry],
    });
    /** Read once per scrape, before the registry renders. */
    async function updateJobCounts(): Promise<void> {
      try {
        const counts = await jobs.counts();
        for (const [state, value] of Object.entries(counts)) jobCounts.set({ state }, value);
        queueUp.set(1);
      } catch {
        // Redis down: the scrape still answers, and says so.
        queueUp.set(0);
      }
    }

    app.get(
      '/metrics',
      {
        logLevel: 'warn',
        schema: {
          tags: ['Health'],
          summary: 'Prometheus metrics (process, HTTP durations, job counts)',
          produces: ['text/plain'],
          response: { 200: Type.String({ description: 'Prometheus text exposition format' }) },
        },
      },
      async (_request, reply) => {
        await updateJobCounts();
        const body = await registry.metrics();
        return reply.type(registry.contentType).send(body);
      },
    );
  },
  { name: 'metrics' },
);
