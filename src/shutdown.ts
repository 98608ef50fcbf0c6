import type { Logger } from 'pino';
import { releaseLogsForExit } from './logger.js';

/** Exit code when the deadline cut the shutdown short (work still running was abandoned). */
export const EXIT_DEADLINE = 1;
/** The end of the deadline is kept for the last log lines to reach stdout. */
const LOG_GRACE_MS = 100;

/** Exits once the last lines are written, or dropped if stdout takes none (src/logger.ts). */
export async function exitAfterLogs(code: number): Promise<never> {
  await releaseLogsForExit(LOG_GRACE_MS);
  process.exit(code);
}

export interface StopOnSignalsOptions {
  log: Logger;
  /** The process exits by then, whatever is still running (SHUTDOWN_TIMEOUT, WORKER_SHUTDOWN_TIMEOUT). */
  timeoutMs: number;
  /** What "finish the work in hand" means for this process; resolved → exit 0, rejected → exit 1. */
  stop: (signal: NodeJS.Signals) => Promise<void>;
  /** The last line once `stop` has resolved. */
  stoppedMessage?: string;
}

/**
 * SIGTERM and SIGINT, as a supervisor (systemd, Docker, Kubernetes) or a terminal sends them: the
 * first one starts `stop` under a hard deadline; later ones are ignored, as a terminal's Ctrl-C
 * reaches this process twice (once from the terminal, once forwarded by npm) and must not turn
 * a graceful stop into an abrupt one. The deadline timer is not unref'd: it fires even when
 * `stop` waits on nothing that keeps the event loop alive.
 */
export function stopOnSignals({
  log,
  timeoutMs,
  stop,
  stoppedMessage = 'shutdown complete',
}: StopOnSignalsOptions): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.info({ signal }, 'already shutting down');
      return;
    }
    stopping = true;
    log.info({ signal, timeoutMs }, 'shutting down: finishing the work in hand');
    setTimeout(
      () => {
        log.error({ timeoutMs }, 'shutdown deadline reached, exiting with work still running');
        void exitAfterLogs(EXIT_DEADLINE);
      },
      Math.max(0, timeoutMs - LOG_GRACE_MS),
    );
    stop(signal).then(
      () => {
        log.info(stoppedMessage);
        void exitAfterLogs(0);
      },
      (error: unknown) => {
        log.error({ err: error }, 'error during shutdown');
        void exitAfterLogs(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
