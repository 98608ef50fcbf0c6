import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Database } from '../../db/client.js';
import { DatabaseUnavailableError, isDatabaseUnavailable } from '../../db/errors.js';
import { ForbiddenError, HttpError } from '../../errors.js';
import type { Viewer } from '../../plugins/auth.js';
import { sendHttpError } from '../../plugins/errors.js';
import { isStorableText } from '../../plugins/input.js';
import { type BasicSignIns, findViewer } from './service.js';

/** Checks a login (email or username) and password; null when they do not match. */
export type VerifyCredentials = (login: string, password: string) => Promise<Viewer | null>;

const BASIC_CHALLENGE = 'Basic realm="Conduit admin", charset="UTF-8"';
const MAX_BASIC_LENGTH = 1024;

class BasicAuthRequired extends HttpError {
  constructor(message: string) {
    super(401, message, undefined, { 'www-authenticate': BASIC_CHALLENGE });
  }
}

function decodeBasic(header: string): { login: string; password: string } | undefined {
  const match = /^Basic +([A-Za-z0-9+/=]+)$/i.exec(header.trim());
  if (!match?.[1] || match[1].length > MAX_BASIC_LENGTH) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  const login = decoded.slice(0, colon);
  // The login is looked up in the database: text it cannot store names no account.
  if (!isStorableText(login)) return undefined;
  return { login, password: decoded.slice(colon + 1) };
}

/**
 * A browser cannot send a bearer token when it opens a page, so the dashboard also accepts HTTP
 * Basic credentials of an admin account (the browser asks for them on the 401 challenge and
 * resends them with every request of the dashboard). Basic credentials ride along with
 * cross-site requests too, so a state-changing request must come from this origin (CSRF).
 */
async function authenticateAdminRequest(
  app: FastifyInstance,
  request: FastifyRequest,
  options: AdminGuardOptions,
): Promise<void> {
  const header = request.headers.authorization;
  if (header === undefined) throw new BasicAuthRequired('Sign in with an admin account');
  if (!/^Basic /i.test(header.trim()) || !options.verifyCredentials) {
    await app.authenticateAdmin(request);
    return;
  }
  const viewer = await basicViewer(app, request, header, options.verifyCredentials, options);
  if (viewer.role !== 'admin') throw new ForbiddenError('Admins only');
  if (!['GET', 'HEAD'].includes(request.method) && !sameOrigin(request)) {
    throw new ForbiddenError('Cross-site requests to the admin dashboard are refused');
  }
  request.viewer = viewer;
}

async function basicViewer(
  app: FastifyInstance,
  request: FastifyRequest,
  header: string,
  verifyCredentials: VerifyCredentials,
  { db, signIns }: AdminGuardOptions,
): Promise<Viewer> {
  const knownUserId = signIns.userIdFor(header);
  if (knownUserId !== undefined) {
    // Re-read: a demoted or deleted admin loses access at once.
    const viewer = await findViewer(db, knownUserId);
    if (!viewer) throw new BasicAuthRequired('Wrong login or password');
    return viewer;
  }
  const credentials = decodeBasic(header);
  if (!credentials) throw new BasicAuthRequired('Malformed Basic credentials');
  // Password guesses here count against the same brute-force limits as the login endpoints.
  if (app.hasDecorator('authRateLimit')) {
    await app.authRateLimit('login', () => credentials.login)(request);
  }
  const viewer = await verifyCredentials(credentials.login, credentials.password);
  if (!viewer) throw new BasicAuthRequired('Wrong login or password');
  signIns.remember(header, viewer.id);
  return viewer;
}

function sameOrigin(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return false;
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

/**
 * onRequest hook for everything under /admin. It answers errors itself (RFC 9457 body) rather
 * than throwing: Bull Board installs its own error handler for its routes, which would turn a
 * 401 into a 500.
 */
export interface AdminGuardOptions {
  db: Database;
  verifyCredentials: VerifyCredentials | undefined;
  signIns: BasicSignIns;
}

export function adminGuard(app: FastifyInstance, options: AdminGuardOptions) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    reply.header('cache-control', 'no-store');
    try {
      await authenticateAdminRequest(app, request, options);
    } catch (caught) {
      const error = isDatabaseUnavailable(caught) ? new DatabaseUnavailableError() : caught;
      if (!(error instanceof HttpError)) throw error;
      return sendHttpError(reply, request, error);
    }
  };
}
