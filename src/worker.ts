import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { stopOnSignals } from './shutdown.js';
import { startWorker } from './worker-runtime.js';

/**
 * Entry point of `npm run worker`: runs background jobs until SIGTERM/SIGINT, then lets the
 * running jobs finish (up to WORKER_SHUTDOWN_TIMEOUT) and exits 0, or 1 at the deadline. A job cut
 * off by the deadline, a crash or SIGKILL is not lost: its lock expires and another (or this,
 * restarted) worker runs it again.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config, 'worker');
  let starting: ReturnType<typeof startWorker> | undefined;
  stopOnSignals({
    log,
    timeoutMs: config.jobs.shutdownTimeoutSeconds * 1000,
    stop: async () => {
      const worker = await starting?.catch(() => undefined);
      await worker?.close();
    },
    stoppedMessage: 'worker stopped',
  });
  starting = startWorker(config, { log });
  await starting;
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  console.error(
    error instanceof ConfigError ? `config error: ${message}` : `worker start failed: ${message}`,
  );
  process.exit(1);
});
