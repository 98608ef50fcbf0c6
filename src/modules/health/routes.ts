import type { FastifyInstance } from 'fastify';
import pTimeout from 'p-timeout';
import { Type } from 'typebox';
import type { ReadinessCheck } from '../../readiness.js';

const CHECK_TIMEOUT_MS = 2000;

const DependencyStatus = Type.Object({
  status: Type.Union([Type.Literal('up'), Type.Literal('down')]),
  latencyMs: Type.Number(),
  error: Type.Optional(Type.String()),
  detail: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});

const ReadyResponse = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('unavailable')], {
    description:
      '`degraded` (200): an optional dependency (Redis, the job queue) is down and the API still ' +
      'answers; `unavailable` (503): a required one (the database) is down',
  }),
  checks: Type.Record(Type.String(), DependencyStatus),
});

async function runCheck(check: ReadinessCheck) {
  const started = performance.now();
  try {
    const detail = await pTimeout(check.check(), {
      milliseconds: CHECK_TIMEOUT_MS,
      message: `no answer within ${CHECK_TIMEOUT_MS} ms`,
    });
    return {
      status: 'up' as const,
      latencyMs: Math.round(performance.now() - started),
      ...(detail ? { detail } : {}),
    };
  } catch (error) {
    return {
      status: 'down' as const,
      latencyMs: Math.round(performance.now() - started),
      error: error instanceof Error ? error.message : String(error),
    };
  }
}

export async function healthRoutes(app: FastifyInstance, { checks }: { checks: readonly ReadinessCheck[] }) {
  app.get(
    '/live',
    {
      logLevel: 'warn',
      schema: {
        tags: ['Health'],
        summary: 'Liveness: the process answers',
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/ready',
    {
      logLevel: 'warn',
      schema: {
        tags: ['Health'],
        summary:
          'Readiness: 503 while the database does not answer; 200 `degraded` while only Redis does not',
        response: { 200: ReadyResponse, 503: ReadyResponse },
      },
    },
    async (_request, reply) => {
      const results = await Promise.all(
        checks.map(async (check) => [check.name, await runCheck(check)] as const),
      );
      const down = checks.filter((_check, i) => results[i]?.[1].status === 'down');
      const status =
        down.length === 0 ? 'ok' : down.every((check) => check.optional) ? 'degraded' : 'unavailable';
      return reply
        .code(status === 'unavailable' ? 503 : 200)
        .send({ status, checks: Object.fromEntries(results) });
    },
  );
}
