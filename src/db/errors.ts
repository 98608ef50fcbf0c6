/**
 * Which errors mean "the database is unavailable right now" (answered 503 with Retry-After by
 * src/plugins/errors.ts) rather than "this request or this code is wrong" (500). One list for
 * node-postgres, PgBouncer and PGlite, so every caller (requests, readiness, jobs) agrees.
 */

import { HttpError } from '../errors.js';

/** What a client is told to wait before retrying: about one reconnect attempt. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/** The 503 a request answers when `isDatabaseUnavailable(error)`. */
export class DatabaseUnavailableError extends HttpError {
  constructor() {
    super(503, 'The database is unavailable, please retry shortly', undefined, {
      'retry-after': String(DATABASE_RETRY_AFTER_SECONDS),
    });
  }
}

/**
 * SQLSTATE classes and codes: 08 connection exception (PgBouncer reports its own failures as
 * 08P01), 53 insufficient resources (53300 too_many_connections), 57P01-57P05 admin/crash
 * shutdown, cannot connect now, idle session timeout, 57014 query_canceled (statement_timeout).
 */
const UNAVAILABLE_SQLSTATE = /^(08...|53...|57P0[1-5]|57014)$/;

/** Socket-level failures, from the TCP connection to PostgreSQL or the pooler. */
const UNAVAILABLE_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** node-postgres and pg-pool report lost connections and timeouts as plain Errors. */
const UNAVAILABLE_MESSAGE = [
  /^Connection terminated/, // unexpectedly, or due to connection timeout
  /^timeout exceeded when trying to connect$/, // pool: no free client within the connect bound
  /^Query read timeout$/, // query_timeout: the client-side statement bound
  /not queryable/, // a client whose connection already failed
  /^PGlite is clos(ed|ing)$/,
];

function isUnavailableCause(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_ERRNO.has(code))) {
    return true;
  }
  // A WebAssembly abort (`RuntimeError: Aborted(…)`) leaves PGlite unusable until a restart.
  if (error.name === 'RuntimeError') return true;
  return UNAVAILABLE_MESSAGE.some((pattern) => pattern.test(error.message));
}

/**
 * True when `error` (or anything in its `cause` chain: Drizzle wraps driver errors in
 * DrizzleQueryError, Node in AggregateError) says the database cannot be reached or cannot
 * serve right now.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current instanceof Error && !seen.has(current)) {
    seen.add(current);
    if (isUnavailableCause(current)) return true;
    if (current instanceof AggregateError && current.errors.some(isUnavailableCause)) return true;
    current = current.cause;
  }
  return false;
}
