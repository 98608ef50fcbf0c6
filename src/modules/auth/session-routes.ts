import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Database } from '../../db/client.js';
import { SIGNED_IN } from '../../http/security.js';
import { requireViewer } from '../../plugins/auth.js';
import { problemResponses } from '../../plugins/errors.js';
import { signOutEverywhere } from './sessions.js';

/**
 * Session management for a signed-in user. Kept apart from the OAuth2 endpoints (routes.ts), whose
 * errors are RFC 6749 bodies: these are ordinary API routes and answer problem+json.
 */
export const sessionRoutes: FastifyPluginAsyncTypebox<{ db: Database }> = async (app, { db }) => {
  app.post(
    '/sign-out-everywhere',
    {
      preHandler: app.authenticate,
      schema: {
        tags: ['User and Authentication'],
        summary: 'Sign out everywhere: revoke every token of the current user',
        description:
          'Every access token (the RealWorld `user.token` and OAuth2 access tokens, this one included) ' +
          'and every refresh token issued to the user so far answers 401 from now on, on every ' +
          'instance. Sign in again for a new one.',
        security: SIGNED_IN,
        response: { 204: Type.Null({ description: 'Signed out everywhere' }), ...problemResponses(401) },
      },
    },
    async (request, reply) => {
      await signOutEverywhere(db, requireViewer(request).id);
      return reply.code(204).send(null);
    },
  );
};
