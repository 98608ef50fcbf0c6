import { sql } from 'drizzle-orm';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Database } from '../db/client.js';
import { users } from '../db/schema.js';
import { ForbiddenError, UnauthorizedError } from '../errors.js';
import {
  type AccessTokenSigner,
  InvalidAccessTokenError,
  type VerifiedAccessToken,
} from '../modules/auth/access-token.js';

/** The signed-in user of a request, as far as routes and services need to know. */
export interface Viewer {
  id: number;
  username: string;
  role: 'user' | 'admin';
}

declare module 'fastify' {
  interface FastifyInstance {
    /** preHandler: 401 unless a valid token of an existing user is sent. */
    authenticate: (request: FastifyRequest) => Promise<void>;
    /** preHandler: anonymous when no token is sent; 401 when a bad one is. */
    authenticateOptional: (request: FastifyRequest) => Promise<void>;
    /** preHandler: 401 without a valid token, 403 unless the user is an admin. */
    authenticateAdmin: (request: FastifyRequest) => Promise<void>;
  }
  interface FastifyRequest {
    viewer: Viewer | null;
  }
}

/** Accepts RealWorld's `Token <jwt>` and the standard `Bearer <jwt>`. */
function readToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^(?:Token|Bearer) +([A-Za-z0-9._~+/=-]+)$/i.exec(header.trim());
  if (!match?.[1])
    throw new UnauthorizedError(
      'The Authorization header must be "Token <jwt>" or "Bearer <jwt>"',
      'invalid_token',
    );
  return match[1];
}

export interface AuthPluginOptions {
  db: Database;
  accessTokens: AccessTokenSigner;
}

/** A viewer with the token version of their row, read in the same query (no extra round trip). */
type ViewerRow = Viewer & { tokenVersion: number };
type Lookup = { resolve: (viewer: ViewerRow | undefined) => void; reject: (error: unknown) => void };

/**
 * Looks viewers up by id with one query for every request that asks within one event-loop turn
 * (`id = any($1)`, prepared): under load, 32 signed-in requests cost one round trip instead of 32
 * (docs/PERFORMANCE.md). A request only joins a batch that has not been sent yet, so its answer
 * reflects the database after the request arrived, exactly as a query of its own would: a user
 * deleted a moment ago is not found.
 */
function viewerLoader(db: Database): (id: number) => Promise<ViewerRow | undefined> {
  // Prepared once: Drizzle's per-call query building costs more than the round trip.
  const viewersByIds = db
    .select({ id: users.id, username: users.username, role: users.role, tokenVersion: users.tokenVersion })
    .from(users)
    .where(sql`${users.id} = any(${sql.placeholder('ids')})`)
    .prepare('auth_viewers_by_ids');
  let batch: Map<number, Lookup[]> | undefined;

  async function send(lookups: Map<number, Lookup[]>): Promise<void> {
    try {
      const rows = await viewersByIds.execute({ ids: [...lookups.keys()] });
      const found = new Map(rows.map((row) => [row.id, row]));
      for (const [id, waiting] of lookups) {
        const row = found.get(id);
        for (const { resolve } of waiting) resolve(row && { ...row });
      }
    } catch (error) {
      for (const waiting of lookups.values()) for (const { reject } of waiting) reject(error);
    }
  }

  return (id) =>
    new Promise((resolve, reject) => {
      if (!batch) {
        const lookups = new Map<number, Lookup[]>();
        batch = lookups;
        // After the I/O of this turn: every request parsed in it has joined.
        setImmediate(() => {
          batch = undefined;
          void send(lookups);
        });
      }
      const waiting = batch.get(id);
      if (waiting) waiting.push({ resolve, reject });
      else batch.set(id, [{ resolve, reject }]);
    });
}

export const authPlugin = fp<AuthPluginOptions>(
  async (app: FastifyInstance, { db, accessTokens }) => {
    app.decorateRequest('viewer', null);
    const findViewer = viewerLoader(db);

    async function resolveViewer(request: FastifyRequest, required: boolean): Promise<void> {
      const token = readToken(request);
      if (token === undefined) {
        if (required) throw new UnauthorizedError();
        return;
      }
      let claims: VerifiedAccessToken;
      try {
        claims = await accessTokens.verify(token);
      } catch (error) {
        if (error instanceof InvalidAccessTokenError)
          throw new UnauthorizedError(error.message, 'invalid_token');
        throw error;
      }
      // A token outlives nothing: a deleted user's tokens stop working at once.
      const user = await findViewer(claims.userId);
      if (!user) throw new UnauthorizedError('The user of this token no longer exists', 'invalid_token');
      // Exact match: a password change, a reset or sign-out-everywhere moved the row on, even
      // within the second the token was issued in.
      if (user.tokenVersion !== claims.tokenVersion)
        throw new UnauthorizedError('The access token was revoked', 'invalid_token');
      const { tokenVersion: _, ...viewer } = user;
      request.viewer = viewer;
    }

    app.decorate('authenticate', (request: FastifyRequest) => resolveViewer(request, true));
    app.decorate('authenticateOptional', (request: FastifyRequest) => resolveViewer(request, false));
    app.decorate('authenticateAdmin', async (request: FastifyRequest) => {
      await resolveViewer(request, true);
      if (request.viewer?.role !== 'admin') throw new ForbiddenError('Admins only');
    });
  },
  { name: 'auth', dependencies: ['errors'] },
);

/** For routes behind `app.authenticate`: the viewer is there, or the hook would have answered 401. */
export function requireViewer(request: FastifyRequest): Viewer {
  if (!request.viewer) throw new UnauthorizedError();
  return request.viewer;
}
