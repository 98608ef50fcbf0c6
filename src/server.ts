import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import { createDeps, type Deps } from './deps.js';
import { createLogger } from './logger.js';
import { setPasswordHashConcurrency } from './modules/auth/passwords.js';
import { ensureAdminAccount } from './modules/users/service.js';
import { exitAfterLogs, stopOnSignals } from './shutdown.js';

interface Running {
  deps?: Deps;
  app?: FastifyInstance;
  stopping: boolean;
}

/** config → deps → migrations → app → listen; stops early when a stop signal came meanwhile. */
async function start(config: Config, log: Logger, running: Running): Promise<void> {
  if (config.passwordHashConcurrency !== undefined)
    setPasswordHashConcurrency(config.passwordHashConcurrency);
  const deps = await createDeps(config);
  running.deps = deps;
  if (config.migrateOnStart) await deps.database.migrate();
  const app = await buildApp(deps, { logger: log });
  running.app = app;
  if (config.adminEmail && config.adminPassword) {
    const outcome = await ensureAdminAccount(deps.database.db, {
      email: config.adminEmail,
      password: config.adminPassword,
    });
    log.info({ outcome }, 'admin account ensured (ADMIN_EMAIL)');
  }
  if (running.stopping) return;
  const address = await app.listen({ port: config.port, host: config.host });
  // PORT=0 (tests, ad-hoc runs) takes a free port: the address says which.
  const url = config.port === 0 ? address : config.appUrl;
  const database = deps.database.kind === 'pglite' ? `PGlite in ${config.dataDir}/pglite` : 'PostgreSQL';
  log.info(`Conduit API listening on ${url} (database: ${database}); docs at ${url}/docs`);
}

/**
 * Entry point: starts the API and stops it gracefully on SIGTERM/SIGINT: no new connections,
 * in-flight requests finish, then jobs, connections and the database close; the process exits
 * 0, or 1 at SHUTDOWN_TIMEOUT with work still running (src/shutdown.ts).
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config, 'api');
  const running: Running = { stopping: false };
  let starting: Promise<void> = Promise.resolve();
  // Listening for signals from the first moment: one during start-up waits for the step in hand
  // (a half-initialised PGlite directory is not abandoned), then closes what was opened.
  stopOnSignals({
    log,
    timeoutMs: config.shutdownTimeoutSeconds * 1000,
    stop: async () => {
      running.stopping = true;
      await starting.catch(() => {});
      // Stops listening, answers 503 on kept-alive connections, waits for in-flight requests.
      // Fastify closes the idle connections once, at close; a kept-alive connection whose request
      // was in flight then stays open after its answer until the client's idle timeout (72 s) —
      // close each one as soon as it is idle.
      const server = running.app?.server;
      const sweep = setInterval(() => server?.closeIdleConnections(), 100);
      try {
        await running.app?.close();
      } finally {
        clearInterval(sweep);
      }
      await running.deps?.close();
    },
  });
  starting = start(config, log, running);
  try {
    await starting;
  } catch (error) {
    if (running.stopping) return;
    log.error({ err: error }, 'startup failed');
    await running.app?.close().catch(() => {});
    await running.deps?.close().catch(() => {});
    await exitAfterLogs(1);
  }
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  // Without a valid config there is no logger: one plain line, as for any bad environment.
  console.error(error instanceof ConfigError ? `config error: ${message}` : `startup failed: ${message}`);
  process.exit(1);
});
