import { defineConfig } from 'vitest/config';
import { reachable } from './test/support/reachable.js';

/**
 * Two projects run the same suites: `pglite` (always) and `postgres` (a fresh database per test
 * file on TEST_DATABASE_URL). Without PostgreSQL the second project is skipped loudly; under
 * REQUIRE_SERVICES=1 it runs anyway and fails. A third, `pgbouncer`, runs the module and fault
 * tests with the app connected through a transaction-mode PgBouncer at TEST_PGBOUNCER_URL.
 */
const postgresUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const requireServices = process.env.REQUIRE_SERVICES === '1';

const postgresUp = requireServices || (await reachable(postgresUrl, 5432));

// A transaction-mode PgBouncer in front of the same PostgreSQL (.ci/pgbouncer starts one).
const pgbouncerUrl = process.env.TEST_PGBOUNCER_URL ?? 'postgres://postgres@127.0.0.1:6432/postgres';
const pgbouncerUp = postgresUp && (requireServices || (await reachable(pgbouncerUrl, 6432)));
if (postgresUp && !pgbouncerUp) {
  console.warn(
    `\n!!! SKIPPING the PgBouncer suites: nothing answers at ${new URL(pgbouncerUrl).host}.` +
      '\n!!! Run `.ci/pgbouncer start DIR` and set TEST_PGBOUNCER_URL; REQUIRE_SERVICES=1 turns this into a failure.\n',
  );
}
if (!postgresUp) {
  console.warn(
    `\n!!! SKIPPING every PostgreSQL suite: nothing answers at ${new URL(postgresUrl).host}.` +
      '\n!!! Start PostgreSQL or set TEST_DATABASE_URL; REQUIRE_SERVICES=1 turns this into a failure.\n',
  );
}

/**
 * Suites whose outcome cannot depend on the database engine run in the `pglite` project only: they
 * touch no database (version-memo), or exercise Redis, the in-memory cache, HTTP headers, logging
 * or the embedded-mode mail viewer, with the database as a bystander.
 */
const ENGINE_INDEPENDENT = [
  'test/cache/version-memo.test.ts',
  'test/cache/memory.test.ts',
  'test/cache/outage.test.ts',
  'test/plugins/head.test.ts',
  'test/plugins/metrics.test.ts',
  'test/logging.test.ts',
  'test/modules/articles/cors.test.ts',
  'test/modules/dev-mail/dev-mail.test.ts',
];

/**
 * Suites the `pgbouncer` project leaves to `postgres`, where they already run against the same
 * server: query plans (EXPLAIN is the server's planner, whatever the connection path); server
 * processes that connect directly (serverSandbox); and faults of Redis, SMTP, signals and
 * worker processes, where the pooler plays no part.
 */
const POOLER_INDEPENDENT = [
  'test/modules/articles/plans.test.ts',
  'test/modules/users/admin-at-start.test.ts',
  'test/faults/shutdown.test.ts',
  'test/faults/signals.test.ts',
  'test/faults/redis-outage.test.ts',
  'test/faults/smtp-outage.test.ts',
  'test/faults/worker-crash.test.ts',
];

const shared = {
  include: ['test/**/*.test.ts'],
  // A process warning (leak, clamped timer, deprecation) fails the test that raised it.
  setupFiles: ['test/support/fail-on-warnings.ts'],
  testTimeout: 20_000,
  hookTimeout: 60_000,
};

export default defineConfig({
  test: {
    // Two files at a time on two cores: a file spends much of its time waiting on PostgreSQL,
    // Redis and the processes it starts. The fault suites' time bounds (a server starts within
    // 45 s, a 503 within the statement bound) hold on an otherwise idle machine; on a loaded one,
    // run `--maxWorkers=1`.
    maxWorkers: 2,
    // A worker runs file after file in one module graph: each file would otherwise import the
    // app (Fastify, Drizzle, BullMQ, PGlite) afresh. Every file builds its own app and database
    // and closes them, so nothing but the loaded modules carries over.
    isolate: false,
    projects: [
      {
        extends: true,
        test: {
          ...shared,
          name: 'pglite',
          env: { TEST_DB: 'pglite' },
          globalSetup: ['test/support/global-setup-pglite.ts'],
        },
      },
      ...(postgresUp
        ? [
            {
              extends: true as const,
              test: {
                ...shared,
                name: 'postgres',
                // Tests that touch no database run once, in the pglite project.
                exclude: ['test/**/*.unit.test.ts', ...ENGINE_INDEPENDENT],
                env: { TEST_DB: 'postgres', TEST_DATABASE_URL: postgresUrl },
                globalSetup: ['test/support/global-setup-postgres.ts'],
              },
            },
          ]
        : []),
      // The API's module tests and the fault tests again, through the pooler (DATABASE_POOLER=transaction).
      ...(pgbouncerUp
        ? [
            {
              extends: true as const,
              test: {
                ...shared,
                name: 'pgbouncer',
                include: ['test/modules/**/*.test.ts', 'test/faults/**/*.test.ts'],
                exclude: ['test/**/*.unit.test.ts', ...ENGINE_INDEPENDENT, ...POOLER_INDEPENDENT],
                env: {
                  TEST_DB: 'postgres',
                  TEST_DATABASE_URL: postgresUrl,
                  TEST_PGBOUNCER_URL: pgbouncerUrl,
                },
                globalSetup: ['test/support/global-setup-postgres.ts'],
              },
            },
          ]
        : []),
    ],
  },
});
