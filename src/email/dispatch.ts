import { type DeliveryDeps, deliverEmail } from './delivery.js';

/**
 * Hands committed email_log rows over for delivery. Callers dispatch after their transaction
 * commits; a dispatch that is lost (crash, Redis down) leaves the row `queued`, where the sweep
 * (`findEmailsToRequeue`) finds it again. So dispatch never fails the request that caused it.
 */
export interface EmailDispatcher {
  dispatch(emailIds: readonly number[]): Promise<void>;
  /** Resolves when every delivery dispatched so far has finished (tests, diagnostics). */
  idle(): Promise<void>;
  /** Waits for deliveries in flight (graceful shutdown). */
  close(): Promise<void>;
}

export interface DispatchLogger {
  warn(details: Record<string, unknown>, message: string): void;
}

/**
 * Stopgap until the jobs queue runs `email.send`: one delivery attempt in this process, after the
 * response, never inside the request. A transient failure leaves the row `queued` for the sweep
 * or a later job; retries with backoff are the queue's business, not this one's.
 */
export function createInProcessDispatcher(
  deps: DeliveryDeps,
  options: { maxAttempts: number; log?: DispatchLogger },
): EmailDispatcher {
  const inFlight = new Set<Promise<void>>();
  return {
    dispatch: async (emailIds) => {
      for (const emailId of emailIds) {
        const delivery = new Promise<void>((resolve) => setImmediate(resolve))
          .then(() => deliverEmail(deps, emailId, { maxAttempts: options.maxAttempts }))
          .then(
            () => undefined,
            (error: unknown) => {
              options.log?.warn({ emailId, err: error }, 'email delivery failed');
            },
          )
          .finally(() => inFlight.delete(delivery));
        inFlight.add(delivery);
      }
    },
    idle: async () => {
      await Promise.all([...inFlight]);
    },
    close: async () => {
      await Promise.all([...inFlight]);
    },
  };
}
