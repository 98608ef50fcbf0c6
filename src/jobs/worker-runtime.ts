import type { Logger } from 'pino';
import { createResponseCache } from '../cache/create.js';
import { type Config, ConfigError } from '../config.js';
import { openDatabase } from '../db/client.js';
import { createMailer } from '../email/mailer.js';
import type { JobDefinition } from './definition.js';
import { createJobs, createJobsLogger } from './jobs.js';
import { appendOnlyPersistence } from './redis-persistence.js';
import { buildRegistry, jobDefinitions } from './registry.js';

export interface RunningWorker {
  /** Stops taking jobs, lets running ones finish, closes Redis and the database. */
  close(): Promise<void>;
}

export interface StartWorkerOptions {
  log?: Logger;
  definitions?: readonly JobDefinition[];
}

/**
 * A worker process: runs the BullMQ jobs of every queue with WORKER_CONCURRENCY at a time.
 * Refuses to start without Redis or PostgreSQL, or when a job name lacks exactly one handler.
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
  // Before anything opens: a missing or doubled handler is a deploy error, not a runtime one.
  buildRegistry(options.definitions ?? jobDefinitions);
  const log = options.log ?? createJobsLogger(config);
  const database = await openDatabase({ ...config, applicationName: 'conduit-worker' });
  const mailer = createMailer({
    smtpUrl: config.smtpUrl,
    from: config.mailFrom,
    dataDir: config.dataDir,
    logger: log.child({ module: 'mailer' }),
  });
  const cache = createResponseCache(config);
  cache.attachLogger(log.child({ module: 'cache' }));
  const closeServices = async () => {
    await mailer.close();
    await cache.close();
  };
  try {
    const jobs = createJobs({
      config,
      db: database.db,
      services: { mailer, cache },
      log,
      definitions: options.definitions,
    });
    try {
      if (config.migrateOnStart) await database.migrate();
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
      await jobs.close();
      throw error;
    }
    log.info(
      { concurrency: config.jobs.concurrency, queuePrefix: config.jobs.queuePrefix },
      'worker started',
    );
    return {
      close: async () => {
        await jobs.close();
        await closeServices();
        await database.close();
      },
    };
  } catch (error) {
    await closeServices();
    await database.close();
    throw error;
  }
}
