import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { createDeps } from './deps.js';
import { setPasswordHashConcurrency } from './modules/users/passwords.js';
import { ensureAdminAccount } from './modules/users/service.js';

/** Entry point: config → deps → migrations → app → listen, and a graceful shutdown. */
async function main(): Promise<void> {
  const config = loadConfig();
  if (config.passwordHashConcurrency !== undefined)
    setPasswordHashConcurrency(config.passwordHashConcurrency);
  const deps = await createDeps(config);
  if (config.migrateOnStart) await deps.database.migrate();
  const app = await buildApp(deps);
  if (config.adminEmail && config.adminPassword) {
    const outcome = await ensureAdminAccount(deps.database.db, {
      email: config.adminEmail,
      password: config.adminPassword,
    });
    app.log.info({ outcome }, 'admin account ensured (ADMIN_EMAIL)');
  }

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    const forceExit = setTimeout(() => {
      app.log.error('shutdown took longer than 10 s, exiting');
      process.exit(1);
    }, 10_000);
    forceExit.unref();
    try {
      await app.close(); // stops accepting, waits for in-flight requests
      await deps.close();
      process.exit(0);
    } catch (error) {
      app.log.error({ err: error }, 'error during shutdown');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));

  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    app.log.error({ err: error }, 'could not listen');
    await deps.close();
    process.exit(1);
  }
  const database = deps.database.kind === 'pglite' ? `PGlite in ${config.dataDir}/pglite` : 'PostgreSQL';
  app.log.info(
    `Conduit API listening on ${config.appUrl} (database: ${database}); docs at ${config.appUrl}/docs`,
  );
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    console.error(`config error: ${error.message}`);
  } else {
    console.error(`startup failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  process.exit(1);
});
