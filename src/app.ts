import { randomUUID } from 'node:crypto';
import cors from '@fastify/cors';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  LogController,
  type RouteOptions,
} from 'fastify';
import type { DestinationStream, Logger } from 'pino';
import { cachePlugin } from './cache/http.js';
import type { Deps } from './deps.js';
import { createLogger } from './logger.js';
import { adminApiRoutes } from './modules/admin/api-routes.js';
import { adminRoutes } from './modules/admin/routes.js';
import { articleRoutes } from './modules/articles/routes.js';
import { accountEmailRoutes } from './modules/auth/account-routes.js';
import { verifyCredentials } from './modules/auth/credentials.js';
import { authRoutes } from './modules/auth/routes.js';
import { sessionRoutes } from './modules/auth/session-routes.js';
import { commentRoutes } from './modules/comments/routes.js';
import { devMailRoutes } from './modules/dev-mail/routes.js';
import { healthRoutes } from './modules/health/routes.js';
import { notificationRoutes } from './modules/notifications/routes.js';
import { pageRoutes } from './modules/pages/routes.js';
import { avatarRoutes, defaultAvatarUrl } from './modules/profiles/avatar.js';
import { profileRoutes } from './modules/profiles/routes.js';
import { tagRoutes } from './modules/tags/routes.js';
import { userRoutes } from './modules/users/routes.js';
import { authPlugin } from './plugins/auth.js';
import { bodyPlugin } from './plugins/body.js';
import { docsPlugin } from './plugins/docs.js';
import { errorsPlugin } from './plugins/errors.js';
import { frameworkErrors, inputPlugin } from './plugins/input.js';
import { metricsPlugin } from './plugins/metrics.js';
import { authRateLimitPlugin } from './plugins/rate-limit.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export interface BuildAppOptions {
  /** Where log lines go instead of stdout (tests read them). */
  logStream?: DestinationStream;
  /** Called for every route as it is registered (tests enumerate the routes with it). */
  onRoute?: (route: RouteOptions) => void;
  /** The process's `api` logger (server.ts logs start-up and shutdown through it too). */
  logger?: Logger;
}

/** Builds the whole HTTP application from its dependencies; it never listens (server.ts does). */
export async function buildApp(deps: Deps, options: BuildAppOptions = {}): Promise<FastifyInstance> {
  const { config } = deps;
  const app = Fastify({
    loggerInstance: (options.logger ??
      createLogger(config, 'api', { stream: options.logStream })) as FastifyBaseLogger,
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    // An incoming x-request-id is honoured (when sane) so logs can be followed across services.
    genReqId: (request) => {
      const incoming = request.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 },
    // One access line per request (onResponse below) instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    ajv: { customOptions: { allErrors: true } },
    frameworkErrors,
  }).withTypeProvider<TypeBoxTypeProvider>();

  if (options.onRoute) app.addHook('onRoute', options.onRoute);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  // The access log: one line per request (not an "incoming" and a "completed" one: on a cached GET
  // logging is a large share of the work), written when it is answered. Routes with
  // `logLevel: 'warn'` (health, tracking pixels) write none. `req` and `res` are the request and
  // reply themselves: Fastify's serializers turn them into method, url, host, remoteAddress,
  // remotePort and statusCode (a plain object under `req` would lose the address).
  app.addHook('onResponse', (request, reply, done) => {
    request.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
    done();
  });

  await app.register(errorsPlugin);
  await app.register(bodyPlugin);
  await app.register(inputPlugin);
  await app.register(cors, {
    origin: config.corsOrigins === true ? true : [...config.corsOrigins],
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
    // x-requested-with: jQuery-style clients and the RealWorld Postman suite send it on every call.
    allowedHeaders: ['authorization', 'content-type', 'x-request-id', 'if-none-match', 'x-requested-with'],
    exposedHeaders: ['x-request-id', 'x-cache', 'etag', 'retry-after', 'www-authenticate'],
    maxAge: 600,
  });
  await app.register(docsPlugin);
  await app.register(metricsPlugin, { jobs: deps.jobs });
  await app.register(authPlugin, { db: deps.database.db, accessTokens: deps.accessTokens });
  await app.register(authRateLimitPlugin, {
    redis: deps.redis,
    keyPrefix: config.rateLimitKeyPrefix,
    ipMax: config.authRateLimitIpMax,
    accountMax: config.authRateLimitAccountMax,
    windowSeconds: config.authRateLimitWindowSeconds,
  });
  await app.register(cachePlugin, { cache: deps.cache });

  await app.register(healthRoutes, { prefix: '/health', checks: deps.readiness });
  await app.register(pageRoutes, { db: deps.database.db, config });
  await app.register(avatarRoutes);
  // The development inbox reads DATA_DIR/mail; production has no such page.
  if (config.nodeEnv !== 'production') {
    await app.register(devMailRoutes, { prefix: '/dev/mail', dataDir: config.dataDir });
  }
  await app.register(userRoutes, {
    prefix: '/api',
    db: deps.database.db,
    accessTokens: deps.accessTokens,
    writes: deps.writes,
    keys: config,
  });
  await app.register(authRoutes, {
    prefix: '/api/auth',
    db: deps.database.db,
    accessTokens: deps.accessTokens,
    refreshTokenTtlSeconds: config.refreshTokenTtlSeconds,
  });
  await app.register(sessionRoutes, { prefix: '/api/auth', db: deps.database.db });
  await app.register(accountEmailRoutes, {
    prefix: '/api/auth',
    db: deps.database.db,
    keys: config,
    writes: deps.writes,
  });
  await app.register(profileRoutes, {
    prefix: '/api',
    db: deps.database.db,
    writes: deps.writes,
    keys: config,
  });
  await app.register(articleRoutes, {
    prefix: '/api',
    db: deps.database.db,
    writes: deps.writes,
    defaultImage: defaultAvatarUrl(config.appUrl),
  });
  await app.register(commentRoutes, {
    prefix: '/api',
    db: deps.database.db,
    writes: deps.writes,
    keys: config,
  });
  await app.register(tagRoutes, { prefix: '/api', db: deps.database.db });
  await app.register(notificationRoutes, { prefix: '/api', db: deps.database.db, config });
  await app.register(adminRoutes, {
    prefix: '/admin',
    db: deps.database.db,
    jobs: deps.jobs,
    verifyCredentials: (login, password) => verifyCredentials(deps.database.db, login, password),
  });
  await app.register(adminApiRoutes, { prefix: '/api/admin', db: deps.database.db });
  // Embedded mode (and RUN_JOBS_IN_API) runs jobs in this process, once migrations have run.
  if (config.jobs.runInApi) app.addHook('onReady', () => deps.jobs.startProcessing());

  return app;
}
