import { createRequire } from 'node:module';
import { type DestinationStream, type Logger, type LoggerOptions, pino, symbols } from 'pino';
import type PinoPretty from 'pino-pretty';
import type { Config } from './config.js';

/**
 * The one logger factory: the API, the mailer, jobs and the worker all log
 * through it, so every line of every process has one shape. Production writes JSON lines (pino,
 * straight to stdout); development writes one readable line per event, a request as
 * `GET /api/tags 200 3.1 ms`.
 */

/** Keys (compared in lower case) whose values the logs must never contain, at any depth. */
const SECRET_KEYS = new Set([
  'authorization',
  'cookie',
  'set-cookie',
  'password',
  'passwordhash',
  'token',
  'access_token',
  'refresh_token',
]);
const CENSOR = '[redacted]';
const MAX_REDACT_DEPTH = 8;

/**
 * A copy of a logged object with every secret key censored, at any depth (the caller's object is
 * never changed; nothing is copied when nothing is secret). Plain objects and arrays only: class
 * instances (errors, Fastify's request and reply) go through pino's serializers, which keep no
 * headers or bodies. Not pino's path-based `redact`: it covers only the paths it is told, and it
 * would cost more than the rest of an access line, which every request writes.
 */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object' || depth > MAX_REDACT_DEPTH) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item: unknown, i) => {
      const clean = redactSecrets(item, depth + 1);
      if (clean !== item) {
        copy ??= [...value];
        copy[i] = clean;
      }
    });
    return copy ?? value;
  }
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return value;
  let copy: Record<string, unknown> | undefined;
  for (const [key, item] of Object.entries(value)) {
    const clean = SECRET_KEYS.has(key.toLowerCase()) ? CENSOR : redactSecrets(item, depth + 1);
    if (clean !== item) {
      copy ??= { ...value };
      copy[key] = clean;
    }
  }
  return copy ?? value;
}

/** The access line (src/app.ts) as one readable message; every other line keeps its own. */
function developmentMessage(log: Record<string, unknown>, messageKey: string): string {
  const req = log.req as { method?: string; url?: string } | undefined;
  const res = log.res as { statusCode?: number } | undefined;
  if (req && res && typeof log.responseTime === 'number') {
    return `${req.method} ${req.url} ${res.statusCode} ${log.responseTime.toFixed(1)} ms`;
  }
  return String(log[messageKey] ?? '');
}

const require = createRequire(import.meta.url);

/**
 * Development: pino-pretty in this thread (no transport worker), so the message format can be a
 * function. pino-pretty is a dev dependency: a pruned install logs JSON instead.
 */
function developmentStream(): DestinationStream | undefined {
  let pretty: typeof PinoPretty;
  try {
    pretty = require('pino-pretty') as typeof PinoPretty;
  } catch {
    return undefined;
  }
  return pretty({
    translateTime: 'HH:MM:ss.l',
    // The request id stays in production's JSON; here it would double the access line's length.
    ignore: 'pid,hostname,req,res,responseTime,reqId',
    singleLine: true,
    messageFormat: developmentMessage,
    // Lines written just before process.exit (shutdown) are not lost.
    sync: true,
  });
}

/** Where every logger of this process writes: what `releaseLogsForExit` lets go of. */
const destinations = new Set<{ flushSync?: () => void }>();

/**
 * Lets the lines written so far reach stdout for `graceMs`, then stops pino from flushing at
 * exit. pino flushes its stdout buffer synchronously on `process.exit`, and that flush retries
 * for ever when nobody reads the pipe (EPIPE after the reader went away, EAGAIN while it is
 * full): the process had stopped listening but never exited. A line that could not be written
 * by then is dropped instead.
 */
export async function releaseLogsForExit(graceMs: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, graceMs));
  for (const destination of destinations) {
    if (typeof destination.flushSync === 'function') destination.flushSync = () => {};
  }
}

export interface CreateLoggerOptions {
  /** Where lines go instead of stdout (tests read them); always JSON. */
  stream?: DestinationStream;
}

/** A root logger of one component (`api`, `worker`, `mailer`, …): JSON lines or, in development, pretty. */
export function createLogger(config: Config, name: string, options: CreateLoggerOptions = {}): Logger {
  const settings: LoggerOptions = {
    name,
    level: config.logLevel,
    formatters: { log: (object) => redactSecrets(object) as Record<string, unknown> },
  };
  const stream = options.stream ?? (config.nodeEnv === 'development' ? developmentStream() : undefined);
  const logger = stream ? pino(settings, stream) : pino(settings);
  // pino keeps its destination under a documented symbol (pino.symbols.streamSym).
  const destination: unknown = Reflect.get(logger, symbols.streamSym);
  if (typeof destination === 'object' && destination !== null) destinations.add(destination);
  return logger;
}
