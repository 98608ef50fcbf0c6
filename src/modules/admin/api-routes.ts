import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Database } from '../../db/client.js';
import { listEmails } from '../../email/log.js';
import { SIGNED_IN } from '../../http/security.js';
import { problemResponses } from '../../plugins/errors.js';
import { EmailLogQuery, EmailLogResponse } from './schemas.js';

/**
 * `/api/admin/*`: the admin API, for tokens of admin accounts only (`app.authenticateAdmin`). The
 * browser dashboard under `/admin` (routes.ts) also takes HTTP Basic; these routes do not.
 */
export const adminApiRoutes: FastifyPluginAsyncTypebox<{ db: Database }> = async (app, { db }) => {
  app.get(
    '/emails',
    {
      onRequest: app.authenticateAdmin,
      schema: {
        tags: ['Admin'],
        summary: 'The email log, newest first (admins only)',
        security: SIGNED_IN,
        querystring: EmailLogQuery,
        response: { 200: EmailLogResponse, ...problemResponses(401, 403, 422) },
      },
    },
    async (request) => {
      const { emails, emailsCount } = await listEmails(db, request.query);
      return {
        emails: emails.map((email) => ({
          ...email,
          createdAt: email.createdAt.toISOString(),
          updatedAt: email.updatedAt.toISOString(),
          sentAt: email.sentAt?.toISOString() ?? null,
        })),
        emailsCount,
      };
    },
  );
};
