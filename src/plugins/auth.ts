import { eq, sql } from 'drizzle-orm';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Database } from '../db/client.js';
import { users } from '../db/schema.js';
import { ForbiddenError, UnauthorizedError } from '../errors.js';
import { type AccessTokenSigner, InvalidAccessTokenError } from '../modules/auth/access-token.js';

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

export const authPlugin = fp<AuthPluginOptions>(
  async (app: FastifyInstance, { db, accessTokens }) => {
    app.decorateRequest('viewer', null);
    // Runs on every signed-in request: a prepared statement skips Drizzle's per-call query
    // building (a PK lookup: ~8k → ~29k queries/s at 32 in flight, docs/PERFORMANCE.md).
    const viewerById = db
      .select({ id: users.id, username: users.username, role: users.role })
      .from(users)
      .where(eq(users.id, sql.placeholder('id')))
      .prepare('auth_viewer_by_id');

    async function resolveViewer(request: FastifyRequest, required: boolean): Promise<void> {
      const token = readToken(request);
      if (token === undefined) {
        if (required) throw new UnauthorizedError();
        return;
      }
      let userId: number;
      try {
        userId = await accessTokens.verify(token);
      } catch (error) {
        if (error instanceof InvalidAccessTokenError)
          throw new UnauthorizedError(error.message, 'invalid_token');
        throw error;
      }
      // A token outlives nothing: a deleted user's tokens stop working at once.
      const [user] = await viewerById.execute({ id: userId });
      if (!user) throw new UnauthorizedError('The user of this token no longer exists', 'invalid_token');
      request.viewer = user;
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
