import type { Logger } from 'pino';
import { type Config, ConfigError } from './config.js';
import { createDeps } from './deps.js';
import type { JobDefinition } from './jobs/definition.js';
import { createJobsLogger } from './jobs/jobs.js';
import { appendOnlyPersistence } from './jobs/redis-persistence.js';
import { buildRegistry } from './jobs/registry.js';
import { jobDefinitions, jobTypes } from './jobs-registry.js';

export interface RunningWorker {
  /** Stops taking jobs, lets running ones finish, closes Redis and the database. */
  close(): Promise<void>;
}

export interface StartWorkerOptions {
  log?: Logger;
  definitions?: readonly JobDefinition[];
}

/**
 * A worker process: runs the BullMQ jobs of every queue with WORKER_CONCURRENCY at a time, with
 * the same dependencies as the API (`createDeps`). Refuses to start without Redis or PostgreSQL,
 * or when a job name lacks exactly one handler.
 */
export async function startWorker(config: Config, options: StartWorkerOptions = {}): Promise<RunningWorker> {
  if (!config.redisUrl) {
    throw new ConfigError('the worker needs REDIS_URL; without Redis the API process runs the jobs itself');
  }
  if (!config.databaseUrl) {
    throw new ConfigError(
      'the worker needs DATABASE_URL (PostgreSQL): the embedded PGlite database can be opened by one process only, so with it the API runs the jobs',
    );
  }
  const definitions = options.definitions ?? jobDefinitions;
  // Before anything opens: a missing or doubled handler is a deploy error, not a runtime one.
  buildRegistry(definitions, jobTypes);
  const log = options.log ?? createJobsLogger(config);
  const deps = await createDeps(config, { role: 'worker', jobsLog: log, definitions });
  deps.cache.attachLogger(log.child({ module: 'cache' }));
  const { jobs } = deps;
  try {
    if (config.migrateOnStart) await deps.database.migrate();
    const policy = await jobs.bullmq?.evictionPolicy().catch(() => undefined);
    if (policy !== 'noeviction') {
      log.warn(
        { maxmemoryPolicy: policy ?? 'unknown' },
        'Redis maxmemory-policy is not noeviction: under memory pressure Redis may silently delete jobs (set maxmemory-policy noeviction)',
      );
    }
    const persistence = await appendOnlyPersistence(config.redisUrl);
    if (persistence !== 'on') {
      log.warn(
        { appendonly: persistence ?? 'unknown' },
        'Redis persistence (AOF) is off: a Redis restart loses the jobs queued since its last snapshot (set appendonly yes)',
      );
    }
    await jobs.startProcessing();
  } catch (error) {
    await deps.close();
    throw error;
  }
  log.info({ concurrency: config.jobs.concurrency, queuePrefix: config.jobs.queuePrefix }, 'worker started');
  return { close: () => deps.close() };
}
