import { parse as parseContentType } from 'content-type';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import secureJson from 'secure-json-parse';
import { HttpError } from '../errors.js';

/**
 * A request body that cannot be read: not JSON, a forbidden key, an unsupported charset. Routes
 * with their own error format (the OAuth2 endpoints) recognise it and answer in that format.
 */
export class UnreadableBodyError extends HttpError {
  override name = 'UnreadableBodyError';
}

/** Bodies are decoded as UTF-8; US-ASCII is a subset of it. */
const READABLE_CHARSETS = new Set(['utf-8', 'utf8', 'us-ascii']);

/** Fastify's own choice: a `__proto__` or `constructor.prototype` key is refused, never stripped. */
const POISONING = { protoAction: 'error', constructorAction: 'error' } as const;

/** GET, HEAD and OPTIONS carry no body here, whatever their headers say. */
const BODYLESS_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function charsetOf(request: FastifyRequest): string | undefined {
  const header = request.headers['content-type'];
  if (header === undefined) return undefined;
  try {
    return parseContentType(header).parameters.charset?.toLowerCase();
  } catch {
    // A malformed header is left to the parsers, which answer 415 for a type they do not know.
    return undefined;
  }
}

function parseJsonBody(text: string): unknown {
  try {
    return secureJson.parse(text, null, POISONING);
  } catch {
    // Parse again without the poisoning check to tell a forbidden key from broken JSON.
    try {
      JSON.parse(text);
    } catch {
      throw new UnreadableBodyError(400, 'The request body is not valid JSON');
    }
    throw new UnreadableBodyError(
      400,
      'The request body contains a forbidden key (__proto__ or constructor)',
    );
  }
}

/**
 * Accepts requests the way real HTTP clients send them, for every route (present and future):
 * browsers' fetch wrappers and the RealWorld test suite send `Content-Type: application/json` on
 * every call, body or not. An empty JSON body is no body (`undefined`): a route without a body
 * schema ignores it, a route with one answers 422 from validation like any other bad input.
 */
export const bodyPlugin = fp(
  async (app: FastifyInstance) => {
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
      const text = body as string;
      if (text.trim() === '') {
        done(null, undefined);
        return;
      }
      try {
        done(null, parseJsonBody(text));
      } catch (error) {
        done(error as UnreadableBodyError, undefined);
      }
    });

    // Before any parser (JSON, forms, plain text) decodes bytes it would otherwise misread.
    app.addHook('preParsing', async (request) => {
      if (BODYLESS_METHODS.has(request.method)) return;
      const charset = charsetOf(request);
      if (charset !== undefined && !READABLE_CHARSETS.has(charset)) {
        throw new UnreadableBodyError(415, `Unsupported charset "${charset}": send UTF-8`);
      }
    });
  },
  { name: 'body' },
);
