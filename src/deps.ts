import type { Redis } from 'ioredis';
import { cacheReadiness, createResponseCache } from './cache/create.js';
import type { ResponseCache } from './cache/response-cache.js';
import type { Config } from './config.js';
import { type DatabaseHandle, openDatabase } from './db/client.js';
import { createQueueDispatcher, type EmailDispatcher } from './email/dispatch.js';
import { createMailer, type Mailer } from './email/mailer.js';
import { createJobs, type Jobs } from './jobs/jobs.js';
import { createLogger } from './logger.js';
import { type AccessTokenSigner, createAccessTokenSigner } from './modules/auth/access-token.js';
import { createRedis } from './redis.js';

/** A dependency `/health/ready` asks; it may return details (queue depth, …) for the body. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<Record<string, unknown> | undefined>;
  /**
   * The API still answers without it (Redis: the cache bypasses, rate limits fail open, the outbox
   * keeps the jobs): down makes readiness `degraded` but keeps it 200, so a load balancer does not
   * take every instance out during an outage that costs no request.
   */
  optional?: boolean;
}

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
  /**
   * Hands committed email_log rows to delivery: enqueues `email.send` (job id `email-<id>`) on
   * `jobs`; never throws (the `email.sweep` job catches a lost enqueue). src/email/dispatch.ts.
   */
  readonly emails: EmailDispatcher;
  readonly readiness: ReadinessCheck[];
  /** Closes everything in reverse order of creation. */
  close(): Promise<void>;
}

export interface DepsOverrides {
  database?: DatabaseHandle;
}

export async function createDeps(config: Config, overrides: DepsOverrides = {}): Promise<Deps> {
  const database = overrides.database ?? (await openDatabase(config));
  const accessTokens = createAccessTokenSigner(config.jwtSecret, {
    accessTtlSeconds: config.accessTokenTtlSeconds,
    sessionTtlSeconds: config.sessionTokenTtlSeconds,
  });
  const redis = config.redisUrl ? createRedis(config.redisUrl, 'conduit-api') : undefined;
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
    browseUrl: config.nodeEnv === 'production' ? undefined : `${config.appUrl}/dev/mail`,
    logger: createLogger(config, 'mailer'),
  });
  // Only enqueues until someone calls startProcessing (the app when it runs jobs, or the worker).
  const jobs = createJobs({ config, db: database.db, services: { mailer, cache } });
  const emails = createQueueDispatcher(jobs, createLogger(config, 'email'));
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
    emails,
    readiness,
    close: async () => {
      // Enqueues in flight land before the queue closes.
      await emails.close();
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
