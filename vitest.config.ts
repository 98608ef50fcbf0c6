import { defineConfig } from 'vitest/config';
import { reachable } from './test/support/reachable.js';

/**
 * Two projects run the same suites: `pglite` (always) and `postgres` (a fresh database per test
 * file on TEST_DATABASE_URL). Without PostgreSQL the second project is skipped loudly; under
 * REQUIRE_SERVICES=1 it runs anyway and fails.
 */
const postgresUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const requireServices = process.env.REQUIRE_SERVICES === '1';

const postgresUp = requireServices || (await reachable(postgresUrl, 5432));
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
    ],
  },
});
