import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Database } from '../../db/client.js';
import { createLinks } from '../../email/links.js';
import type { EmailKeys } from '../../email/render.js';
import { HttpError } from '../../errors.js';
import { HtmlPage, PAGE_HEADERS } from '../../http/pages.js';
import { SIGNED_IN } from '../../http/security.js';
import { requireViewer } from '../../plugins/auth.js';
import { ProblemSchema, problemResponses } from '../../plugins/errors.js';
import { runWrite, type WriteDeps } from '../../unit-of-work.js';
import { messagePage, resetPasswordFormPage } from './account-pages.js';
import { ForgotPasswordBody, MessageResponse, ResetPasswordBody, TokenQuery } from './account-schemas.js';
import {
  isTokenUsable,
  requestPasswordReset,
  resendVerificationEmail,
  resetPassword,
  verifyEmail,
} from './account-service.js';

export interface AccountEmailRoutesOptions {
  db: Database;
  keys: EmailKeys;
  /** Runs each write as a unit of work (the email goes out after the commit). */
  writes: WriteDeps;
}

const htmlOrProblem = {
  content: { 'text/html': { schema: HtmlPage }, 'application/problem+json': { schema: ProblemSchema } },
};

const FORGOT_ANSWER = 'If an account uses this address, a link to reset its password is on its way.';

/** A browser (a link or a form) gets pages; API clients get JSON and problem+json. */
const wantsHtml = (request: FastifyRequest) => request.headers.accept?.includes('text/html') === true;

function sendPage(reply: FastifyReply, status: number, page: string) {
  return reply.code(status).headers(PAGE_HEADERS).send(page);
}

/**
 * Registered under `/api/auth`: the links in verification and reset emails, the resend and
 * forgot-password endpoints. Every route that sees a token keeps its URL out of the access log.
 */
export async function accountEmailRoutes(
  instance: FastifyInstance,
  { db, keys, writes }: AccountEmailRoutesOptions,
) {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const loginUrl = createLinks(keys.appUrl, keys.frontend).login();

  // The reset page's form posts url-encoded; bounded, and only in this plugin's scope.
  if (!app.hasContentTypeParser('application/x-www-form-urlencoded')) {
    app.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 4096 },
      (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
    );
  }

  app.get(
    '/verify-email',
    {
      logLevel: 'warn',
      schema: {
        tags: ['Auth'],
        summary: 'The link in the verification email: verifies the address and shows a page',
        querystring: TokenQuery,
        produces: ['text/html'],
        response: { 200: HtmlPage, 400: HtmlPage, ...problemResponses(422) },
      },
    },
    async (request, reply) => {
      try {
        await verifyEmail(db, request.query.token);
      } catch (error) {
        if (error instanceof HttpError && error.statusCode === 400) {
          return sendPage(reply, 400, messagePage('Link not valid', `${error.message}. Ask for a new one.`));
        }
        throw error;
      }
      return sendPage(
        reply,
        200,
        messagePage('Address verified', 'Thank you: your email address is verified.', loginUrl),
      );
    },
  );

  app.post(
    '/verify-email/resend',
    {
      onRequest: app.authenticate,
      schema: {
        tags: ['Auth'],
        summary: 'Send the verification email again',
        security: SIGNED_IN,
        response: { 202: MessageResponse, ...problemResponses(401, 409, 429) },
      },
    },
    async (request, reply) => {
      const viewerId = requireViewer(request).id;
      await runWrite(writes, (uow) => resendVerificationEmail(uow, viewerId));
      return reply.code(202).send({ message: 'A new verification link is on its way.' });
    },
  );

  app.post(
    '/forgot-password',
    {
      preHandler: app.authRateLimit(
        'login',
        (request) => (request.body as { email?: string } | undefined)?.email,
      ),
      schema: {
        tags: ['Auth'],
        summary: 'Email a password reset link (answers the same whether or not the address has an account)',
        body: ForgotPasswordBody,
        response: { 202: MessageResponse, ...problemResponses(422, 429) },
      },
    },
    async (request, reply) => {
      await runWrite(writes, (uow) => requestPasswordReset(uow, request.body.email));
      return reply.code(202).send({ message: FORGOT_ANSWER });
    },
  );

  app.get(
    '/reset-password',
    {
      logLevel: 'warn',
      schema: {
        tags: ['Auth'],
        summary: 'The link in the reset email: a page with a form that posts the new password',
        querystring: TokenQuery,
        produces: ['text/html'],
        response: { 200: HtmlPage, 400: HtmlPage, ...problemResponses(422) },
      },
    },
    async (request, reply) => {
      const { token } = request.query;
      if (!(await isTokenUsable(db, token, 'reset_password'))) {
        return sendPage(
          reply,
          400,
          messagePage(
            'Link not valid',
            'This password reset link is invalid, was already used or has expired.',
          ),
        );
      }
      return sendPage(reply, 200, resetPasswordFormPage(token));
    },
  );

  app.post(
    '/reset-password',
    {
      logLevel: 'warn',
      preHandler: app.authRateLimit('login'),
      schema: {
        tags: ['Auth'],
        summary: 'Set a new password with a reset token (single use; ends every session)',
        description: 'JSON or the url-encoded form of the reset page. Browsers get a page back.',
        body: ResetPasswordBody,
        response: {
          200: {
            content: { 'application/json': { schema: MessageResponse }, 'text/html': { schema: HtmlPage } },
          },
          400: htmlOrProblem,
          ...problemResponses(422, 429),
        },
      },
    },
    async (request, reply) => {
      try {
        await resetPassword(db, request.body.token, request.body.password);
      } catch (error) {
        if (wantsHtml(request) && error instanceof HttpError && error.statusCode === 400) {
          return sendPage(reply, 400, messagePage('Link not valid', `${error.message}. Ask for a new one.`));
        }
        throw error;
      }
      const message = 'Your password was changed. Sign in with the new one; other sessions were signed out.';
      if (wantsHtml(request)) return sendPage(reply, 200, messagePage('Password changed', message, loginUrl));
      return reply.send({ message });
    },
  );
}
