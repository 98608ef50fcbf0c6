import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Type } from 'typebox';
import { DatabaseUnavailableError, isDatabaseUnavailable } from '../db/errors.js';
import { type FieldErrors, HttpError } from '../errors.js';

/**
 * RFC 9457 problem details that also carry RealWorld's `errors` object, so both kinds of
 * client understand every error this API returns.
 */
export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'A URI reference identifying the problem type (`about:blank` here)' }),
    title: Type.String({ description: 'Short summary of the status code' }),
    status: Type.Integer(),
    detail: Type.String({ description: 'Human-readable explanation of this occurrence' }),
    instance: Type.Optional(Type.String({ description: 'The request path' })),
    errors: Type.Record(Type.String(), Type.Array(Type.String()), {
      description: 'RealWorld error object: field name (or `body`) → messages',
    }),
  },
  { description: 'application/problem+json (RFC 9457) with the RealWorld `errors` object' },
);

/** Response schemas for the error statuses a route can answer, for `schema.response`. */
export function problemResponses(...statuses: number[]): Record<number, typeof ProblemSchema> {
  return Object.fromEntries(statuses.map((status) => [status, ProblemSchema]));
}

interface AjvIssue {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** Turns Ajv issues into RealWorld field errors: `/user/email` → `email`. */
function fieldErrorsFromValidation(issues: AjvIssue[], context: string | undefined): FieldErrors {
  const fields: FieldErrors = {};
  for (const issue of issues) {
    const segments = (issue.instancePath ?? '').split('/').filter(Boolean);
    let field = segments.at(-1) ?? '';
    let message = issue.message ?? 'is invalid';
    if (issue.keyword === 'required' && typeof issue.params?.missingProperty === 'string') {
      field = issue.params.missingProperty;
      message = 'is required';
    } else if (
      issue.keyword === 'additionalProperties' &&
      typeof issue.params?.additionalProperty === 'string'
    ) {
      field = issue.params.additionalProperty;
      message = 'is not allowed';
    }
    if (/^\d+$/.test(field) && segments.length > 1) field = segments.at(-2) ?? field;
    const key = field || (context === 'body' || context === undefined ? 'body' : context);
    const list = fields[key] ?? [];
    if (!list.includes(message)) list.push(message);
    fields[key] = list;
  }
  return fields;
}

/**
 * The one writer of `application/problem+json` answers: the error handler, the not-found handler,
 * the input checks and the admin guard (which answers before Bull Board's own error handler could)
 * all send through it, so every error has the same body.
 */
export function sendProblem(
  reply: FastifyReply,
  request: FastifyRequest,
  status: number,
  detail: string,
  fields?: FieldErrors,
): FastifyReply {
  return reply
    .code(status)
    .type('application/problem+json')
    .send({
      type: 'about:blank',
      title: STATUS_CODES[status] ?? 'Error',
      status,
      detail,
      instance: request.url.split('?')[0],
      errors: fields ?? { body: [detail] },
    });
}

/** An `HttpError` as problem+json, with the headers it carries (`Retry-After`, `WWW-Authenticate`). */
export function sendHttpError(reply: FastifyReply, request: FastifyRequest, error: HttpError): FastifyReply {
  reply.headers(error.headers);
  return sendProblem(reply, request, error.statusCode, error.message, error.fieldErrors);
}

export const errorsPlugin = fp(
  async (app: FastifyInstance) => {
    app.setNotFoundHandler((request, reply) =>
      sendProblem(reply, request, 404, `Route ${request.method} ${request.url.split('?')[0]} not found`),
    );

    app.setErrorHandler((error: FastifyError, request, reply) => {
      if (error instanceof HttpError) {
        if (error.statusCode >= 500) request.log.error({ err: error }, 'server error');
        return sendHttpError(reply, request, error);
      }
      if (error.validation) {
        // No body at all (an empty JSON body is none) where the route needs one.
        const fields =
          error.validationContext === 'body' && request.body === undefined
            ? { body: ['is required'] }
            : fieldErrorsFromValidation(error.validation as AjvIssue[], error.validationContext);
        const detail = Object.entries(fields)
          .map(([field, messages]) => `${field} ${messages.join(', ')}`)
          .join('; ');
        return sendProblem(reply, request, 422, detail, fields);
      }
      if (
        error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ||
        (error instanceof SyntaxError && error.statusCode === 400)
      ) {
        return sendProblem(reply, request, 400, 'The request body is not valid JSON');
      }
      if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        return sendProblem(reply, request, 413, 'The request body is too large');
      }
      const status = error.statusCode ?? 500;
      if (status >= 400 && status < 500) {
        return sendProblem(reply, request, status, error.message);
      }
      if (isDatabaseUnavailable(error)) {
        request.log.warn({ err: error }, 'database unavailable');
        return sendHttpError(reply, request, new DatabaseUnavailableError());
      }
      // Unexpected: the details (stack, SQL) go to the log only.
      request.log.error({ err: error }, 'unhandled error');
      return sendProblem(reply, request, 500, 'An unexpected error occurred');
    });
  },
  { name: 'errors' },
);
