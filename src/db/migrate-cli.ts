import { ConfigError, loadConfig } from '../config.js';
import { openDatabase } from './client.js';

// `npm run db:migrate`: apply pending migrations and exit.
try {
  const config = loadConfig();
  const database = await openDatabase(config);
  try {
    await database.migrate();
    console.log(`migrations applied (${database.kind})`);
  } finally {
    await database.close();
  }
} catch (error) {
  console.error(
    error instanceof ConfigError ? `config error: ${error.message}` : `migration failed: ${String(error)}`,
  );
  process.exitCode = 1;
}
