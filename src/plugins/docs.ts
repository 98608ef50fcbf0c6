import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/**
 * OpenAPI 3.1 generated from the route schemas (`/openapi.json`) and Swagger UI (`/docs`).
 * Registered before the modules so that every route is collected.
 */
export const docsPlugin = fp(
  async (app: FastifyInstance) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Conduit API',
          version: '1.0.0',
          description:
            'The RealWorld "Conduit" API plus OAuth2 password flow, background jobs, email and caching. ' +
            'Errors are `application/problem+json` (RFC 9457) bodies that also carry the RealWorld `errors` object.',
        },
        components: {
          securitySchemes: {
            Token: {
              type: 'apiKey',
              in: 'header',
              name: 'Authorization',
              description: 'RealWorld style: `Token <jwt>` (`Bearer <jwt>` works too)',
            },
            OAuth2: {
              type: 'oauth2',
              description:
                "OAuth2 password flow: Swagger UI's Authorize button logs in with email (or username) and password",
              flows: { password: { tokenUrl: '/api/auth/token', refreshUrl: '/api/auth/token', scopes: {} } },
            },
          },
        },
      },
    });
    await app.register(swaggerUi, {
      routePrefix: '/docs',
      uiConfig: { persistAuthorization: true, deepLinking: true },
    });
    app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());
  },
  { name: 'docs' },
);
