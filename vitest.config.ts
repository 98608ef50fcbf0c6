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

const shared = {
  include: ['test/**/*.test.ts'],
  testTimeout: 20_000,
  hookTimeout: 60_000,
};

export default defineConfig({
  test: {
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
                exclude: ['test/**/*.unit.test.ts'],
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
                exclude: ['test/**/*.unit.test.ts'],
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
