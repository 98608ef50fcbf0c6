import DataLoader from 'dataloader';
import { eq, sql } from 'drizzle-orm';
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

/**
 * Looks viewers up by id with one statement for every request that asks within one event-loop
 * turn (`id = any($1)`, prepared once): concurrent signed-in requests share a round trip. No
 * cache: a request only joins a batch that has not been sent yet, so its answer reflects the
 * database after the request arrived, exactly as a query of its own would (a user deleted a moment
 * ago is not found).
 */
function viewerLoader(db: Database): DataLoader<number, ViewerRow | undefined> {
  const columns = {
    id: users.id,
    username: users.username,
    role: users.role,
    tokenVersion: users.tokenVersion,
  };
  const viewersByIds = db
    .select(columns)
    .from(users)
    .where(sql`${users.id} = any(${sql.placeholder('ids')})`)
    .prepare('auth_viewers_by_ids');
  // The usual batch, one viewer: PostgreSQL keeps one plan for `id = $1`, while `any($1)` is
  // planned again on every execution (its generic plan expects more than one row).
  const viewerById = db
    .select(columns)
    .from(users)
    .where(eq(users.id, sql.placeholder('id')))
    .prepare('auth_viewer_by_id');
  return new DataLoader(
    async (ids) => {
      const unique = [...new Set(ids)];
      const rows =
        unique.length === 1
          ? await viewerById.execute({ id: unique[0] })
          : await viewersByIds.execute({ ids: unique });
      const found = new Map(rows.map((row) => [row.id, row]));
      // A copy each: a request may change its viewer without touching another's.
      return ids.map((id) => {
        const row = found.get(id);
        return row && { ...row };
      });
    },
    {
      cache: false,
      // After the I/O of this turn: every request parsed in it has joined.
      batchScheduleFn: (send) => setImmediate(send),
    },
  );
}

export const authPlugin = fp<AuthPluginOptions>(
  async (app: FastifyInstance, { db, accessTokens }) => {
    app.decorateRequest('viewer', null);
    const viewers = viewerLoader(db);

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
      const user = await viewers.load(claims.userId);
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
