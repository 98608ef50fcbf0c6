import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { cacheReadiness, createResponseCache } from './cache/create.js';
import type { ResponseCache } from './cache/response-cache.js';
import type { Config } from './config.js';
import { type DatabaseHandle, openDatabase } from './db/client.js';
import { createMailer, type Mailer } from './email/mailer.js';
import type { JobDefinition } from './jobs/definition.js';
import { createJobs, type Jobs } from './jobs/jobs.js';
import { jobDefinitions, jobTypes, recurringJobs } from './jobs-registry.js';
import { createLogger } from './logger.js';
import { type AccessTokenSigner, createAccessTokenSigner } from './modules/auth/access-token.js';
import type { ReadinessCheck } from './readiness.js';
import { createRedis } from './redis.js';
import type { WriteDeps } from './unit-of-work.js';

/**
 * Everything with a lifecycle, created once from Config and passed to buildApp explicitly
 * (the counterpart of FastAPI's `Depends`). Tests build their own with overrides.
 */
export interface Deps {
  readonly config: Config;
  readonly database: DatabaseHandle;
  readonly accessTokens: AccessTokenSigner;
  /** Shared request-path connection (rate limits, …) when REDIS_URL is set. */
  readonly redis: Redis | undefined;
  /** Response cache: Redis on CACHE_REDIS_URL (default REDIS_URL), else an in-memory LRU. */
  readonly cache: ResponseCache;
  /** Background jobs: BullMQ when REDIS_URL is set, else the in-process runner (src/jobs). */
  readonly jobs: Jobs;
  /** Sends email: pooled SMTP on SMTP_URL, else `.eml` files under DATA_DIR/mail (src/email). */
  readonly mailer: Mailer;
  /** What `runWrite` needs (src/unit-of-work.ts): every write of a request runs through it. */
  readonly writes: WriteDeps;
  readonly readiness: ReadinessCheck[];
  /** Closes everything in reverse order of creation. */
  close(): Promise<void>;
}

export interface DepsOverrides {
  database?: DatabaseHandle;
  /** `worker`: the worker process (its own connection names, no request-path Redis connection). */
  role?: 'api' | 'worker';
  /** The jobs' logger (default: the `jobs` logger). */
  jobsLog?: Logger;
  /** The job handlers (default: src/jobs-registry.ts); tests swap or drop some. */
  definitions?: readonly JobDefinition[];
}

export async function createDeps(config: Config, overrides: DepsOverrides = {}): Promise<Deps> {
  const worker = overrides.role === 'worker';
  const database =
    overrides.database ??
    (await openDatabase({ ...config, ...(worker ? { applicationName: 'conduit-worker' } : {}) }));
  const accessTokens = createAccessTokenSigner(config.jwtSecret, {
    accessTtlSeconds: config.accessTokenTtlSeconds,
    sessionTtlSeconds: config.sessionTokenTtlSeconds,
  });
  const redis = config.redisUrl && !worker ? createRedis(config.redisUrl, 'conduit-api') : undefined;
  // ioredis reports connection trouble as events; without a listener they would crash the process.
  redis?.on('error', () => {});
  const readiness: ReadinessCheck[] = [
    {
      name: 'database',
      check: async () => {
        await database.ping();
        return undefined;
      },
    },
  ];
  const cache = createResponseCache(config);
  // Start warm when the cache answers quickly; otherwise requests bypass it until it does.
  await cache.whenUp(500);
  readiness.push(cacheReadiness(cache));
  const mailer = createMailer({
    smtpUrl: config.smtpUrl,
    from: config.mailFrom,
    dataDir: config.dataDir,
    browseUrl: config.nodeEnv === 'production' || worker ? undefined : `${config.appUrl}/dev/mail`,
    logger: createLogger(config, 'mailer'),
  });
  // Only enqueues until someone calls startProcessing (the app when it runs jobs, or the worker).
  const jobs = createJobs({
    config,
    db: database.db,
    services: { mailer, cache },
    ...(overrides.jobsLog ? { log: overrides.jobsLog } : {}),
    definitions: overrides.definitions ?? jobDefinitions,
    types: jobTypes,
    recurring: recurringJobs,
  });
  readiness.push({
    name: 'jobs',
    optional: true,
    check: async () => ({ mode: jobs.mode, ...(await jobs.counts()) }),
  });
  if (redis) {
    readiness.push({
      name: 'redis',
      optional: true,
      check: async () => {
        await redis.ping();
        return undefined;
      },
    });
  }

  return {
    config,
    database,
    accessTokens,
    redis,
    cache,
    jobs,
    mailer,
    writes: { db: database.db, jobs, cache, config },
    readiness,
    close: async () => {
      // Running jobs (sends included) finish and write their results before the database goes away.
      await jobs.close();
      // After the jobs: a send in flight finishes on its pooled connection first.
      await mailer.close();
      await cache.close();
      await redis?.quit().catch(() => redis.disconnect());
      await database.close();
    },
  };
}
