import { Socket } from 'node:net';
import { defineConfig } from 'vitest/config';

/**
 * Two projects run the same suites: `pglite` (always) and `postgres` (a fresh database per test
 * file on TEST_DATABASE_URL). Without PostgreSQL the second project is skipped loudly; under
 * REQUIRE_SERVICES=1 it runs anyway and fails.
 */
const postgresUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const requireServices = process.env.REQUIRE_SERVICES === '1';

function reachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(1000);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
    socket.connect(Number(port || 5432), hostname);
  });
}

const postgresUp = requireServices || (await reachable(postgresUrl));
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
