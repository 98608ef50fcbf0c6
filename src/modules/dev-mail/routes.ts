import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { HtmlPage } from '../../http/pages.js';
import { problemResponses } from '../../plugins/errors.js';
import { listMail, MAIL_ID_PATTERN, mailDirectory, readMail } from './service.js';
import { inboxPage, messagePage } from './views.js';

export interface DevMailRoutesOptions {
  dataDir: string;
}

/**
 * Scripts are blocked everywhere, the email's own HTML included (a srcdoc iframe inherits this
 * policy, and its sandbox has no allow-scripts). Images may load, as they would in a mail client.
 */
const HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; img-src data: http: https:; frame-src 'self' about:; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
} as const;

const TAGS = ['Development'];
const IdParams = Type.Object({ id: Type.String({ pattern: MAIL_ID_PATTERN }) });

/**
 * `/dev/mail`: the emails the embedded mode wrote as `.eml` files, readable in a browser with working
 * links. Registered only outside production (src/app.ts); there the path is a 404.
 */
export const devMailRoutes: FastifyPluginAsyncTypebox<DevMailRoutesOptions> = async (app, { dataDir }) => {
  app.get(
    '/',
    {
      schema: {
        tags: TAGS,
        summary: 'The emails written to DATA_DIR/mail, newest first (not in production)',
        produces: ['text/html'],
        response: { 200: HtmlPage },
      },
    },
    async (_request, reply) =>
      reply.headers(HEADERS).send(inboxPage(await listMail(dataDir), mailDirectory(dataDir))),
  );

  app.get(
    '/:id',
    {
      schema: {
        tags: TAGS,
        summary: 'One email: its HTML (sandboxed), links, plain text and headers (not in production)',
        params: IdParams,
        produces: ['text/html'],
        response: { 200: HtmlPage, ...problemResponses(404, 422) },
      },
    },
    async (request, reply) =>
      reply.headers(HEADERS).send(messagePage(await readMail(dataDir, request.params.id))),
  );

  app.get(
    '/:id/raw',
    {
      schema: {
        tags: TAGS,
        summary: 'One email as the .eml file (not in production)',
        params: IdParams,
        produces: ['text/plain'],
        response: { 200: Type.String(), ...problemResponses(404, 422) },
      },
    },
    async (request, reply) => {
      const mail = await readMail(dataDir, request.params.id);
      return reply
        .headers({ 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' })
        .send(mail.raw);
    },
  );
};
