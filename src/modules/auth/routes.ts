import formBody from '@fastify/formbody';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyError, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { problemResponses } from '../../plugins/errors.js';
import { OAuthError } from './oauth-error.js';
import { InvalidRefreshTokenError, revokeRefreshToken } from './refresh-tokens.js';
import { OAuthErrorResponse, RevokeRequest, TokenRequest, TokenResponse } from './schemas.js';
import { passwordGrant, refreshGrant, type TokenIssuer } from './service.js';

export type AuthRoutesOptions = TokenIssuer;

const TAGS = ['OAuth2'];

/**
 * There are no confidential clients: a client may name itself (client_id, or HTTP Basic with an
 * empty secret, which is what Swagger UI sends by default) but a secret cannot be checked, so any
 * presented secret fails as `invalid_client` rather than being silently ignored.
 */
function assertPublicClient(request: FastifyRequest, clientSecret: string | undefined): void {
  if (clientSecret)
    throw new OAuthError('invalid_client', 'Client secrets are not accepted: use a public client');
  const header = request.headers.authorization;
  if (header === undefined || !/^basic /i.test(header)) return;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const separator = decoded.indexOf(':');
  const secret = separator === -1 ? '' : decoded.slice(separator + 1);
  if (separator === -1 || secret !== '')
    throw new OAuthError('invalid_client', 'Client secrets are not accepted: use a public client');
}

export const authRoutes: FastifyPluginAsyncTypebox<AuthRoutesOptions> = async (app, issuer) => {
  // OAuth2 clients post application/x-www-form-urlencoded; JSON works too. Only here.
  await app.register(formBody, { bodyLimit: 16 * 1024 });

  // RFC 6749 §5.1: token responses (and their errors) must not be cached.
  app.addHook('onRequest', async (_request, reply) => {
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
  });

  // Errors of these endpoints are RFC 6749 §5.2 bodies; anything else (429, 413, 500) goes on
  // to the application's problem+json handler.
  app.setErrorHandler((error: FastifyError, _request, reply) => {
    if (error instanceof OAuthError) {
      return reply
        .code(error.statusCode)
        .headers(error.headers)
        .send({ error: error.code, error_description: error.message });
    }
    if (error.validation) {
      const description = error.validation
        .map(
          (issue) =>
            `${issue.instancePath.replace(/^\//, '') || issue.params?.missingProperty || 'body'} ${issue.message ?? 'is invalid'}`,
        )
        .join('; ');
      return reply.code(400).send({ error: 'invalid_request', error_description: description });
    }
    // A body that cannot be read (broken JSON, a `__proto__` key, a charset other than UTF-8, a
    // media type no parser takes, a bad Content-Length) is a malformed request to OAuth2 clients
    // too (RFC 6749 §5.2); a problem+json 400 would not even fit the routes' 400 schema.
    if (error.statusCode === 400 || error.statusCode === 415) {
      return reply.code(400).send({ error: 'invalid_request', error_description: error.message });
    }
    throw error;
  });

  app.post(
    '/token',
    {
      preHandler: app.authRateLimit('login', (request) => {
        const body = request.body as { grant_type?: string; username?: string };
        return body.grant_type === 'password' ? body.username : undefined;
      }),
      schema: {
        tags: TAGS,
        summary: 'OAuth2 token endpoint: password and refresh_token grants',
        description:
          'RFC 6749 token endpoint, `application/x-www-form-urlencoded`. `grant_type=password` with ' +
          '`username` (email or username) and `password` starts a session; `grant_type=refresh_token` ' +
          'rotates the refresh token (each one works once; reusing one revokes the session). Errors are ' +
          '`{"error", "error_description"}` (RFC 6749 §5.2).',
        consumes: ['application/x-www-form-urlencoded', 'application/json'],
        body: TokenRequest,
        response: {
          200: TokenResponse,
          400: OAuthErrorResponse,
          401: OAuthErrorResponse,
          ...problemResponses(429),
        },
      },
    },
    async (request) => {
      const body = request.body;
      assertPublicClient(request, body.client_secret);
      let tokens: Awaited<ReturnType<typeof refreshGrant>>;
      if (body.grant_type === 'password') {
        if (!body.username || !body.password)
          throw new OAuthError('invalid_request', 'username and password are required');
        const granted = await passwordGrant(issuer, body.username, body.password);
        if (!granted) throw new OAuthError('invalid_grant', 'The username or password is incorrect');
        tokens = granted;
      } else if (body.grant_type === 'refresh_token') {
        if (!body.refresh_token) throw new OAuthError('invalid_request', 'refresh_token is required');
        try {
          tokens = await refreshGrant(issuer, body.refresh_token);
        } catch (error) {
          if (error instanceof InvalidRefreshTokenError) throw new OAuthError('invalid_grant', error.message);
          throw error;
        }
      } else {
        throw new OAuthError('unsupported_grant_type', 'grant_type must be password or refresh_token');
      }
      return {
        access_token: tokens.accessToken,
        token_type: 'bearer' as const,
        expires_in: tokens.expiresIn,
        refresh_token: tokens.refreshToken,
      };
    },
  );

  app.post(
    '/revoke',
    {
      schema: {
        tags: TAGS,
        summary: 'Log out: revoke a refresh token (RFC 7009)',
        description:
          'Revokes the refresh token and every token rotated from the same login. Answers 200 for unknown ' +
          'or already revoked tokens too, as RFC 7009 requires. Access tokens expire on their own.',
        consumes: ['application/x-www-form-urlencoded', 'application/json'],
        body: RevokeRequest,
        response: { 200: Type.Object({}, { description: 'Revoked (or unknown)' }), 400: OAuthErrorResponse },
      },
    },
    async (request) => {
      await revokeRefreshToken(issuer.db, request.body.token);
      return {};
    },
  );
};
