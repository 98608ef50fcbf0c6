import { ConfigError, loadConfig } from './config.js';
import { createJobsLogger } from './jobs/jobs.js';
import { startWorker } from './jobs/worker-runtime.js';

/**
 * Entry point of `npm run worker`: runs background jobs until SIGTERM/SIGINT, then lets the
 * running jobs finish (up to WORKER_SHUTDOWN_TIMEOUT) and exits 0. A job cut off by a crash or
 * SIGKILL is not lost: its lock expires and another (or this, restarted) worker runs it again.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const log = createJobsLogger(config);
  const worker = await startWorker(config, { log });

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'shutting down: finishing running jobs');
    const forceExit = setTimeout(() => {
      log.error(
        { timeoutSeconds: config.jobs.shutdownTimeoutSeconds },
        'running jobs did not finish in time; exiting (they will run again on another worker)',
      );
      process.exit(1);
    }, config.jobs.shutdownTimeoutSeconds * 1000);
    forceExit.unref();
    try {
      await worker.close();
      log.info('worker stopped');
      process.exit(0);
    } catch (error) {
      log.error({ error: error instanceof Error ? error.message : String(error) }, 'error during shutdown');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  console.error(
    error instanceof ConfigError ? `config error: ${message}` : `worker start failed: ${message}`,
  );
  process.exit(1);
});
