import type { Logger } from 'pino';
import { Value } from 'typebox/value';
import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import { type JobDefinition, type JobEnqueuer, type JobServices, PermanentJobError } from './definition.js';
import { beginAttempt, markDone, markFailed, recordError } from './outbox.js';
import type { JobRegistry } from './registry.js';

/** What a queue stores per job: the payload, and the outbox row it came from, if any. */
export interface JobEnvelope {
  payload: unknown;
  outboxId?: string;
}

export type AttemptOutcome = 'completed' | 'skipped' | 'retry' | 'failed';

export interface AttemptResult {
  outcome: AttemptOutcome;
  error?: Error;
}

export interface AttemptMeta {
  jobId: string;
  name: string;
  attempt: number;
  maxAttempts: number;
}

export interface RunnerDeps {
  registry: JobRegistry;
  db: Database;
  config: Config;
  log: Logger;
  jobs: JobEnqueuer;
  services: JobServices;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * One attempt of one job, with the semantics both adapters share: outbox bookkeeping (a job whose
 * row is already done is skipped, so a replay after a crash does nothing twice), payload
 * validation, the transient/permanent split, and one structured log line per attempt.
 * The adapter turns the outcome into its own retry/fail mechanics.
 */
export async function runAttempt(
  deps: RunnerDeps,
  envelope: JobEnvelope,
  meta: AttemptMeta,
): Promise<AttemptResult> {
  const started = performance.now();
  const log = deps.log.child({ jobId: meta.jobId, job: meta.name, attempt: meta.attempt });
  const outboxId = envelope.outboxId;
  const finish = (result: AttemptResult): AttemptResult => {
    const line = {
      jobId: meta.jobId,
      job: meta.name,
      attempt: meta.attempt,
      maxAttempts: meta.maxAttempts,
      outcome: result.outcome,
      durationMs: Math.round(performance.now() - started),
      ...(outboxId ? { outboxId } : {}),
      ...(result.error ? { error: errorMessage(result.error) } : {}),
    };
    const level = result.outcome === 'failed' ? 'error' : result.outcome === 'retry' ? 'warn' : 'info';
    deps.log[level](line, `job ${meta.name} ${result.outcome}`);
    return result;
  };

  try {
    if (outboxId && !(await beginAttempt(deps.db, outboxId))) return finish({ outcome: 'skipped' });
    const definition = lookup(deps.registry, meta.name);
    if (!Value.Check(definition.type.payload, envelope.payload)) {
      throw new PermanentJobError(`payload of ${meta.name} does not match its schema`);
    }
    await definition.handle(envelope.payload as never, {
      jobId: meta.jobId,
      attempt: meta.attempt,
      maxAttempts: meta.maxAttempts,
      db: deps.db,
      config: deps.config,
      log,
      jobs: deps.jobs,
      mailer: deps.services.mailer,
      cache: deps.services.cache,
    });
    if (outboxId) await markDone(deps.db, outboxId);
    return finish({ outcome: 'completed' });
  } catch (caught) {
    const error = caught instanceof Error ? caught : new Error(String(caught));
    const final = error instanceof PermanentJobError || meta.attempt >= meta.maxAttempts;
    if (outboxId) {
      // Bookkeeping must not hide the job's own error (the database may be what failed).
      const write = final ? markFailed : recordError;
      await write(deps.db, outboxId, errorMessage(error)).catch(() => {});
    }
    return finish({ outcome: final ? 'failed' : 'retry', error });
  }
}

function lookup(registry: JobRegistry, name: string): JobDefinition {
  // A job recorded by another deploy (during a rolling deploy, a newer API's job reaching a worker
  // not yet replaced): a retry may reach a worker that knows it, so it is retried with backoff
  // like any transient error and fails only when its attempts are used up.
  const definition = registry.get(name);
  if (!definition) throw new Error(`unknown job name "${name}": no handler in this deploy`);
  return definition;
}
