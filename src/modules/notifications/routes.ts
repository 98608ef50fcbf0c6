import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config.js';
import type { Database } from '../../db/client.js';
import { createLinks } from '../../email/links.js';
import { createUnsubscribeTokens } from '../../email/unsubscribe.js';
import { HtmlPage, PAGE_HEADERS } from '../../http/pages.js';
import { SIGNED_IN } from '../../http/security.js';
import { requireViewer } from '../../plugins/auth.js';
import { problemResponses } from '../../plugins/errors.js';
import { unsubscribeConfirmPage, unsubscribedPage } from './pages.js';
import {
  PreferencesResponse,
  UnsubscribeQuery,
  UnsubscribeResponse,
  UpdatePreferencesBody,
} from './schemas.js';
import { getPreferences, readUnsubscribeToken, unsubscribe, updatePreferences } from './service.js';

export interface NotificationRoutesOptions {
  db: Database;
  config: Pick<Config, 'jwtSecret' | 'appUrl' | 'frontend'>;
}

/** Registered under `/api`: the notification switches of the signed-in user and one-click unsubscribe. */
export async function notificationRoutes(
  instance: FastifyInstance,
  { db, config }: NotificationRoutesOptions,
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
        security: SIGNED_IN,
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
        security: SIGNED_IN,
        body: UpdatePreferencesBody,
        response: { 200: PreferencesResponse, ...problemResponses(401, 422) },
      },
    },
    async (request) => {
      const { notifications } = request.body;
      return { notifications: await updatePreferences(db, requireViewer(request).id, notifications) };
    },
  );

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
