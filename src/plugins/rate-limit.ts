import { createHash } from 'node:crypto';
import rateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import { TooManyRequestsError } from '../errors.js';

/**
 * Brute-force limits on the credential endpoints: every attempt counts against the client address
 * and, when the body names one, against the account, so neither one address trying many accounts
 * nor many addresses trying one account get far. Counters live in Redis when it is configured
 * (shared by every instance), in process memory otherwise. If Redis fails, requests are let
 * through (fail open): an outage must not lock every user out.
 */

/** `login`: password and token checks (RealWorld login, OAuth2 token endpoint); `register`: sign-ups. */
export type AuthRateLimitBucket = 'login' | 'register';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * A preHandler counting this request in `bucket` per client address and, when `accountOf`
     * returns one, per account; 429 with `Retry-After` past either limit.
     */
    authRateLimit(
      bucket: AuthRateLimitBucket,
      accountOf?: (request: FastifyRequest) => string | undefined,
    ): (request: FastifyRequest) => Promise<void>;
  }
}

export interface AuthRateLimitOptions {
  redis: Redis | undefined;
  keyPrefix: string;
  ipMax: number;
  accountMax: number;
  windowSeconds: number;
}

type Limiter = ReturnType<FastifyInstance['createRateLimit']>;

/** Accounts are hashed in the keys: Redis never holds a list of email addresses. */
function accountKey(account: string): string {
  return createHash('sha256').update(account.trim().toLowerCase()).digest('hex').slice(0, 32);
}

async function check(limiter: Limiter, request: FastifyRequest): Promise<void> {
  const result = await limiter(request);
  if (!result.isAllowed && result.isExceeded) throw new TooManyRequestsError(result.ttlInSeconds);
}

export const authRateLimitPlugin = fp<AuthRateLimitOptions>(
  async (app: FastifyInstance, options) => {
    const accounts = new WeakMap<FastifyRequest, string>();
    const limiters = new Map<AuthRateLimitBucket, { byIp: Limiter; byAccount: Limiter }>();

    // One encapsulated context per counter, each with its own `nameSpace`: the plugin's
    // `createRateLimit(options)` would derive a child store named after a route it does not have
    // (`…undefinedundefined-…` in Redis), so each limiter uses its context's global settings.
    const limiter = async (
      name: string,
      max: number,
      keyOf: (request: FastifyRequest) => string,
    ): Promise<Limiter> => {
      let created: Limiter | undefined;
      await app.register(async (child) => {
        await child.register(rateLimit, {
          global: false,
          redis: options.redis,
          nameSpace: `${options.keyPrefix}${name}:`,
          max,
          timeWindow: options.windowSeconds * 1000,
          keyGenerator: keyOf,
          skipOnError: true,
        });
        created = child.createRateLimit();
      });
      if (!created) throw new Error(`rate limiter ${name} was not created`);
      return created;
    };
    for (const bucket of ['login', 'register'] as const) {
      limiters.set(bucket, {
        // IPv6 clients are counted per /64, as one host usually owns the whole prefix.
        byIp: await limiter(`${bucket}:ip`, options.ipMax, (request) => normalizeIP(request.ip)),
        byAccount: await limiter(
          `${bucket}:account`,
          options.accountMax,
          (request) => accounts.get(request) ?? '',
        ),
      });
    }

    app.decorate('authRateLimit', (bucket: AuthRateLimitBucket, accountOf) => {
      const limiter = limiters.get(bucket);
      if (!limiter) throw new Error(`unknown rate-limit bucket ${bucket}`);
      return async (request: FastifyRequest) => {
        await check(limiter.byIp, request);
        const account = accountOf?.(request);
        if (account) {
          accounts.set(request, accountKey(account));
          await check(limiter.byAccount, request);
        }
      };
    });
  },
  { name: 'auth-rate-limit', dependencies: ['errors'] },
);
