import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config.js';
import type { Database } from '../../db/client.js';
import { createLinks } from '../../email/links.js';
import { listEmails } from '../../email/log.js';
import { createUnsubscribeTokens } from '../../email/unsubscribe.js';
import { requireViewer } from '../../plugins/auth.js';
import { problemResponses } from '../../plugins/errors.js';
import type { WriteDeps } from '../../unit-of-work.js';
import { accountEmailRoutes } from './account-routes.js';
import { PAGE_HEADERS, unsubscribeConfirmPage, unsubscribedPage } from './pages.js';
import {
  EmailLogQuery,
  EmailLogResponse,
  HtmlPage,
  PreferencesResponse,
  UnsubscribeQuery,
  UnsubscribeResponse,
  UpdatePreferencesBody,
} from './schemas.js';
import { getPreferences, readUnsubscribeToken, unsubscribe, updatePreferences } from './service.js';

export interface NotificationRoutesOptions {
  db: Database;
  config: Pick<Config, 'jwtSecret' | 'appUrl' | 'frontend'>;
  /** Runs the writes that queue emails (resend, forgot password) as units of work. */
  writes: WriteDeps;
}

const security: Record<string, string[]>[] = [{ Token: [] }, { OAuth2: [] }];

/**
 * Registered under `/api`: preferences, one-click unsubscribe, the admin email log, and (under
 * `/api/auth`) the verification and password-reset links.
 */
export async function notificationRoutes(
  instance: FastifyInstance,
  { db, config, writes }: NotificationRoutesOptions,
) {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const tokens = createUnsubscribeTokens(config.jwtSecret);
  const settingsUrl = createLinks(config.appUrl, config.frontend).settings();

  app.get(
    '/user/notifications',
    {
      onRequest: app.authenticate,
      schema: {
        tags: ['Notifications'],
        summary: 'Your notification email switches',
        security,
        response: { 200: PreferencesResponse, ...problemResponses(401) },
      },
    },
    async (request) => ({ notifications: await getPreferences(db, requireViewer(request).id) }),
  );

  app.put(
    '/user/notifications',
    {
      onRequest: app.authenticate,
      schema: {
        tags: ['Notifications'],
        summary: 'Switch notification emails on or off',
        security,
        body: UpdatePreferencesBody,
        response: { 200: PreferencesResponse, ...problemResponses(401, 422) },
      },
    },
    async (request) => {
      const { notifications } = request.body;
      return { notifications: await updatePreferences(db, requireViewer(request).id, notifications) };
    },
  );

  app.get(
    '/admin/emails',
    {
      onRequest: app.authenticateAdmin,
      schema: {
        tags: ['Admin'],
        summary: 'The email log, newest first (admins only)',
        security,
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

  await app.register(accountEmailRoutes, {
    prefix: '/auth',
    db,
    keys: { jwtSecret: config.jwtSecret, appUrl: config.appUrl, frontend: config.frontend },
    writes,
  });

  await app.register(async (scope) => {
    const unsubscribeScope = scope.withTypeProvider<TypeBoxTypeProvider>();
    // RFC 8058 clients POST `List-Unsubscribe=One-Click` form-encoded or as multipart; the token
    // in the URL is all that counts, so the body is read (bounded) and ignored.
    for (const type of ['application/x-www-form-urlencoded', 'multipart/form-data']) {
      if (!unsubscribeScope.hasContentTypeParser(type)) {
        unsubscribeScope.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit: 4096 }, (_r, _b, done) =>
          done(null, {}),
        );
      }
    }

    unsubscribeScope.get(
      '/notifications/unsubscribe',
      {
        // The request line holds the token: keep it out of the access log.
        logLevel: 'warn',
        schema: {
          tags: ['Notifications'],
          summary: 'Unsubscribe page (for people): shows a button that POSTs',
          querystring: UnsubscribeQuery,
          produces: ['text/html'],
          response: { 200: HtmlPage, ...problemResponses(400, 404, 422) },
        },
      },
      async (request, reply) => {
        const { token } = request.query;
        const { kind } = await readUnsubscribeToken(db, tokens, token);
        return reply.headers(PAGE_HEADERS).send(unsubscribeConfirmPage(kind, token, settingsUrl));
      },
    );

    unsubscribeScope.post(
      '/notifications/unsubscribe',
      {
        logLevel: 'warn',
        schema: {
          tags: ['Notifications'],
          summary: 'One-click unsubscribe (RFC 8058): turns off one kind of email, no login needed',
          description:
            'Mail clients POST `List-Unsubscribe=One-Click` here. Browsers (the form of the GET page) ' +
            'get an HTML confirmation, everyone else JSON.',
          querystring: UnsubscribeQuery,
          response: {
            200: {
              content: {
                'application/json': { schema: UnsubscribeResponse },
                'text/html': { schema: HtmlPage },
              },
            },
            ...problemResponses(400, 404, 422),
          },
        },
      },
      async (request, reply) => {
        const { token } = request.query;
        const { kind, preferences } = await unsubscribe(db, tokens, token);
        if (request.headers.accept?.includes('text/html')) {
          return reply.headers(PAGE_HEADERS).send(unsubscribedPage(kind, settingsUrl));
        }
        return reply.send({ unsubscribed: { kind, notifications: preferences } });
      },
    );
  });
}
