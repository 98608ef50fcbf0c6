import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  boolean,
  ConfigError,
  corsOrigins,
  duration,
  type Env,
  email,
  integer,
  oneOf,
  read,
  routePattern,
  url,
} from './config-values.js';
import { DEFAULT_FRONTEND_PATHS, type FrontendRoutes } from './email/links.js';

export { ConfigError } from './config-values.js';

/**
 * The only module that reads the environment (through the readers in config-values.ts).
 * Everything else receives a Config.
 * A bad value throws ConfigError, which the entry points print as one line and exit non-zero.
 */

export type NodeEnv = 'development' | 'production' | 'test';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  readonly nodeEnv: NodeEnv;
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  /** Unset → embedded PGlite under `dataDir/pglite`. */
  readonly databaseUrl: string | undefined;
  /** Migrations run here (default `databaseUrl`); a direct URL when that one is a pooler's. */
  readonly databaseMigrationUrl: string | undefined;
  /** `transaction` behind a transaction-mode pooler (PgBouncer): no named prepared statements. */
  readonly databasePooler: 'none' | 'transaction';
  /** Bound of opening a connection or waiting for a pooled one; past it a request answers 503. */
  readonly databaseConnectTimeoutMs: number;
  /** Bound of one SQL statement; past it the statement is cancelled and the request answers 503. */
  readonly databaseStatementTimeoutMs: number;
  /** PostgreSQL connections this process keeps open at most (each API process and each worker). */
  readonly poolSize: number;
  /** Unset → in-memory cache, rate limits and an in-process job runner. */
  readonly redisUrl: string | undefined;
  /** The cache may live on a separate Redis (with an eviction policy); defaults to `redisUrl`. */
  readonly cacheRedisUrl: string | undefined;
  /** Unset → emails are written as .eml files under `dataDir/mail`. */
  readonly smtpUrl: string | undefined;
  readonly mailFrom: string;
  /** Public base URL used in links inside emails. */
  readonly appUrl: string;
  /** FRONTEND_URL and its route patterns: email links open the frontend; unset → the API's pages. */
  readonly frontend: FrontendRoutes | undefined;
  /** Recipients per notification fan-out job (new article, weekly digest); NOTIFICATION_BATCH_SIZE. */
  readonly notificationBatchSize: number;
  readonly jwtSecret: string;
  /** OAuth2 access tokens (ACCESS_TOKEN_TTL): short, their clients refresh them. */
  readonly accessTokenTtlSeconds: number;
  /** The RealWorld `user.token` (SESSION_TOKEN_TTL): stock clients never refresh it. */
  readonly sessionTokenTtlSeconds: number;
  readonly refreshTokenTtlSeconds: number;
  /** `false` (CACHE_ENABLED=false): every cached GET reads the database (benchmarks, debugging). */
  readonly cacheEnabled: boolean;
  readonly cacheTtlSeconds: number;
  /** Upper bound of one cache round trip; past it the request is answered from the database. */
  readonly cacheTimeoutMs: number;
  /** Entries kept by the in-memory cache (no Redis). */
  readonly cacheMaxEntries: number;
  /** Prefix of every cache key in Redis (instances sharing a cache must share it). */
  readonly cacheKeyPrefix: string;
  readonly adminEmail: string | undefined;
  readonly adminPassword: string | undefined;
  /** `true` reflects any origin (development); otherwise an explicit allow-list. */
  readonly corsOrigins: true | readonly string[];
  readonly logLevel: LogLevel;
  readonly migrateOnStart: boolean;
  readonly bodyLimitBytes: number;
  readonly trustProxy: boolean;
  /** SIGTERM/SIGINT → the API process exits within this (in-flight requests cut off past it). */
  readonly shutdownTimeoutSeconds: number;
  readonly jobs: JobsConfig;
  /** Login, token and registration attempts allowed per client address per window. */
  readonly authRateLimitIpMax: number;
  /** Login, token and registration attempts allowed per account (email/username) per window. */
  readonly authRateLimitAccountMax: number;
  readonly authRateLimitWindowSeconds: number;
  /** Prefix of the rate-limit counters in Redis (instances sharing counters must share it). */
  readonly rateLimitKeyPrefix: string;
  /** argon2 operations at once (src/modules/auth/passwords.ts); unset → CPU cores − 1, at least 1. */
  readonly passwordHashConcurrency: number | undefined;
}

/** Background jobs (src/jobs): the same knobs drive the BullMQ worker and the in-process runner. */
export interface JobsConfig {
  /** Redis key prefix of every queue; tests isolate themselves with their own. */
  readonly queuePrefix: string;
  /** The prefix was generated for one test app: its keys are nobody else's, removed on close. */
  readonly ephemeralQueue: boolean;
  /** Jobs one worker process (or the in-process runner) runs at the same time. */
  readonly concurrency: number;
  readonly attempts: number;
  /** First retry delay; doubled per attempt, with jitter. */
  readonly backoffMs: number;
  /** How long a worker holds a job without renewing; a killed worker's job runs again after it. */
  readonly lockMs: number;
  readonly outboxSweepSeconds: number;
  /** The API process also runs jobs (always without Redis; by default with the embedded PGlite). */
  readonly runInApi: boolean;
  readonly shutdownTimeoutSeconds: number;
}

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const NODE_ENVS: readonly NodeEnv[] = ['development', 'production', 'test'];
const WEAK_SECRETS = new Set(['secret', 'changethis', 'changeme', 'jwt_secret', 'your-secret', 'password']);
const MIN_SECRET_LENGTH = 32;

function jwtSecret(env: Env, nodeEnv: NodeEnv, dataDir: string): string {
  const raw = read(env, 'JWT_SECRET');
  const weak = (s: string) => s.length < MIN_SECRET_LENGTH || WEAK_SECRETS.has(s.toLowerCase());
  if (raw !== undefined) {
    if (weak(raw) && nodeEnv === 'production') {
      throw new ConfigError(
        `JWT_SECRET is too weak: use at least ${MIN_SECRET_LENGTH} random characters (e.g. openssl rand -base64 48)`,
      );
    }
    return raw;
  }
  if (nodeEnv === 'production') {
    throw new ConfigError('JWT_SECRET is required when NODE_ENV=production (e.g. openssl rand -base64 48)');
  }
  // Development: one random secret per data directory, so tokens survive restarts.
  const file = path.join(dataDir, 'jwt-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const generated = randomBytes(48).toString('base64url');
  writeFileSync(file, generated, { mode: 0o600 });
  chmodSync(file, 0o600);
  return generated;
}

const FRONTEND_PATH_VARIABLES = [
  'FRONTEND_PROFILE_PATH',
  'FRONTEND_ARTICLE_PATH',
  'FRONTEND_SETTINGS_PATH',
  'FRONTEND_LOGIN_PATH',
] as const;

function frontendRoutes(env: Env): FrontendRoutes | undefined {
  const base = url(env, 'FRONTEND_URL', ['http:', 'https:']);
  if (base === undefined) {
    const stray = FRONTEND_PATH_VARIABLES.find((name) => read(env, name) !== undefined);
    if (stray) throw new ConfigError(`${stray} needs FRONTEND_URL (the frontend the path belongs to)`);
    return undefined;
  }
  // The paths are appended to the URL, so a query would end up in the middle of the link.
  if (new URL(base).search) throw new ConfigError('FRONTEND_URL must not have a query (?…)');
  return Object.freeze({
    url: base.replace(/\/+$/, ''),
    profilePath: routePattern(env, 'FRONTEND_PROFILE_PATH', DEFAULT_FRONTEND_PATHS.profilePath, 'username'),
    articlePath: routePattern(env, 'FRONTEND_ARTICLE_PATH', DEFAULT_FRONTEND_PATHS.articlePath, 'slug'),
    settingsPath: routePattern(env, 'FRONTEND_SETTINGS_PATH', DEFAULT_FRONTEND_PATHS.settingsPath, null),
    loginPath: routePattern(env, 'FRONTEND_LOGIN_PATH', DEFAULT_FRONTEND_PATHS.loginPath, null),
  });
}

function adminAccount(env: Env): { adminEmail: string | undefined; adminPassword: string | undefined } {
  const adminEmail = email(env, 'ADMIN_EMAIL');
  const adminPassword = read(env, 'ADMIN_PASSWORD');
  if ((adminEmail === undefined) !== (adminPassword === undefined)) {
    throw new ConfigError('ADMIN_EMAIL and ADMIN_PASSWORD must be set together');
  }
  if (adminPassword !== undefined && (adminPassword.length < 8 || adminPassword.length > 256)) {
    throw new ConfigError('ADMIN_PASSWORD must be 8 to 256 characters long');
  }
  return { adminEmail, adminPassword };
}

function databaseConnection(env: Env) {
  const databasePooler = oneOf(env, 'DATABASE_POOLER', ['none', 'transaction'] as const, 'none');
  const databaseMigrationUrl = url(env, 'DATABASE_MIGRATION_URL', ['postgres:', 'postgresql:']);
  // The migration lock is session-level: a transaction-mode pooler would hand its unlock to
  // another server connection and leave it held.
  if (
    databasePooler === 'transaction' &&
    databaseMigrationUrl === undefined &&
    boolean(env, 'MIGRATE_ON_START', true) &&
    read(env, 'DATABASE_URL') !== undefined
  ) {
    throw new ConfigError(
      'DATABASE_POOLER=transaction needs DATABASE_MIGRATION_URL (a direct PostgreSQL URL) or MIGRATE_ON_START=false',
    );
  }
  return {
    databaseMigrationUrl,
    databasePooler,
    databaseConnectTimeoutMs: integer(env, 'DATABASE_CONNECT_TIMEOUT_MS', 5000, 100, 600_000),
    databaseStatementTimeoutMs: integer(env, 'DATABASE_STATEMENT_TIMEOUT_MS', 10_000, 100, 3_600_000),
    poolSize: integer(env, 'DATABASE_POOL_SIZE', 10, 1, 1000),
  };
}

function jobsConfig(env: Env, nodeEnv: NodeEnv, redisUrl: string | undefined): JobsConfig {
  const configuredPrefix = read(env, 'QUEUE_PREFIX');
  // Test apps share one Redis: an unset prefix must not let one test file run another's jobs.
  const ephemeralQueue = configuredPrefix === undefined && nodeEnv === 'test';
  const queuePrefix =
    configuredPrefix ?? (ephemeralQueue ? `conduit-test-${randomBytes(4).toString('hex')}` : 'conduit');
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(queuePrefix)) {
    throw new ConfigError(`QUEUE_PREFIX must be 1 to 64 letters, digits, - or _, got "${queuePrefix}"`);
  }
  // Without Redis nothing else can run the jobs; with the embedded PGlite no other process can
  // open the database, so the API runs them by default there too.
  const runInApi =
    redisUrl === undefined || boolean(env, 'RUN_JOBS_IN_API', read(env, 'DATABASE_URL') === undefined);
  return Object.freeze({
    queuePrefix,
    ephemeralQueue,
    concurrency: integer(env, 'WORKER_CONCURRENCY', 5, 1, 200),
    attempts: integer(env, 'JOB_ATTEMPTS', 5, 1, 50),
    backoffMs: integer(env, 'JOB_BACKOFF_MS', 2000, 1, 3_600_000),
    lockMs: integer(env, 'JOB_LOCK_MS', 30_000, 1000, 600_000),
    outboxSweepSeconds: duration(env, 'OUTBOX_SWEEP_INTERVAL', 60),
    runInApi,
    shutdownTimeoutSeconds: duration(env, 'WORKER_SHUTDOWN_TIMEOUT', 30),
  });
}

export function loadConfig(env: Env = process.env): Config {
  const nodeEnv = oneOf(env, 'NODE_ENV', NODE_ENVS, 'development');
  const port = integer(env, 'PORT', 3000, 0, 65535);
  const host = read(env, 'HOST') ?? (nodeEnv === 'production' ? '0.0.0.0' : '127.0.0.1');
  const dataDir = path.resolve(read(env, 'DATA_DIR') ?? './data');
  const redisUrl = url(env, 'REDIS_URL', ['redis:', 'rediss:']);
  const displayHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  const appUrl = (url(env, 'APP_URL', ['http:', 'https:']) ?? `http://${displayHost}:${port}`).replace(
    /\/+$/,
    '',
  );

  return Object.freeze({
    nodeEnv,
    port,
    host,
    dataDir,
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    ...databaseConnection(env),
    redisUrl,
    cacheRedisUrl: url(env, 'CACHE_REDIS_URL', ['redis:', 'rediss:']) ?? redisUrl,
    smtpUrl: url(env, 'SMTP_URL', ['smtp:', 'smtps:']),
    mailFrom: read(env, 'MAIL_FROM') ?? 'Conduit <no-reply@conduit.localhost>',
    appUrl,
    frontend: frontendRoutes(env),
    notificationBatchSize: integer(env, 'NOTIFICATION_BATCH_SIZE', 500, 1, 5000),
    jwtSecret: jwtSecret(env, nodeEnv, dataDir),
    accessTokenTtlSeconds: duration(env, 'ACCESS_TOKEN_TTL', 15 * 60),
    sessionTokenTtlSeconds: duration(env, 'SESSION_TOKEN_TTL', 7 * 86400),
    refreshTokenTtlSeconds: duration(env, 'REFRESH_TOKEN_TTL', 30 * 86400),
    cacheEnabled: boolean(env, 'CACHE_ENABLED', true),
    cacheTtlSeconds: integer(env, 'CACHE_TTL_SECONDS', 60, 1, 86400),
    cacheTimeoutMs: integer(env, 'CACHE_TIMEOUT_MS', 50, 1, 5000),
    cacheMaxEntries: integer(env, 'CACHE_MAX_ENTRIES', 10_000, 1, 10_000_000),
    cacheKeyPrefix: read(env, 'CACHE_KEY_PREFIX') ?? 'conduit:cache:',
    ...adminAccount(env),
    corsOrigins: corsOrigins(env, nodeEnv === 'production'),
    logLevel: oneOf(env, 'LOG_LEVEL', LOG_LEVELS, nodeEnv === 'test' ? 'silent' : 'info'),
    migrateOnStart: boolean(env, 'MIGRATE_ON_START', true),
    bodyLimitBytes: integer(env, 'BODY_LIMIT_BYTES', 256 * 1024, 1024, 50 * 1024 * 1024),
    trustProxy: boolean(env, 'TRUST_PROXY', false),
    shutdownTimeoutSeconds: duration(env, 'SHUTDOWN_TIMEOUT', 10),
    jobs: jobsConfig(env, nodeEnv, redisUrl),
    authRateLimitIpMax: integer(env, 'AUTH_RATE_LIMIT_IP_MAX', 60, 1, 1_000_000),
    authRateLimitAccountMax: integer(env, 'AUTH_RATE_LIMIT_ACCOUNT_MAX', 10, 1, 1_000_000),
    authRateLimitWindowSeconds: duration(env, 'AUTH_RATE_LIMIT_WINDOW', 15 * 60),
    rateLimitKeyPrefix: read(env, 'RATE_LIMIT_KEY_PREFIX') ?? 'conduit:rate-limit:',
    passwordHashConcurrency:
      read(env, 'PASSWORD_HASH_CONCURRENCY') === undefined
        ? undefined
        : integer(env, 'PASSWORD_HASH_CONCURRENCY', 1, 1, 64),
  });
}
