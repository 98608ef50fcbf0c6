import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../src/errors.js';
import { createTestApp, type TestApp } from './support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ BODY_LIMIT_BYTES: '2048' }, { beforeReady: addProbeRoutes });
});
afterAll(() => t.close());

function expectProblem(body: Record<string, unknown>, status: number) {
  expect(body).toMatchObject({
    type: 'about:blank',
    status,
    title: expect.any(String),
    detail: expect.any(String),
  });
  expect(body.errors).toEqual(expect.any(Object));
}

describe('errors', () => {
  it('answers unknown routes with a 404 problem that RealWorld clients understand too', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/nothing-here?x=1' });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const body = res.json();
    expectProblem(body, 404);
    expect(body.instance).toBe('/api/nothing-here');
    expect(body.errors.body).toEqual([body.detail]);
  });
});

describe('health', () => {
  it('is live', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/health/live' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('is ready when the database answers', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/health/ready' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'ok', checks: { database: { status: 'up' } } });
  });

  it('stays ready (200, degraded) when only an optional dependency fails, naming it', async () => {
    t.deps.readiness.push({
      name: 'queue',
      optional: true,
      check: () => Promise.reject(new Error('Redis is not connected')),
    });
    try {
      const res = await t.app.inject({ method: 'GET', url: '/health/ready' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        status: 'degraded',
        checks: { database: { status: 'up' }, queue: { status: 'down', error: 'Redis is not connected' } },
      });
    } finally {
      t.deps.readiness.pop();
    }
  });

  it('answers 503 naming the dependency that failed', async () => {
    t.deps.readiness.push({ name: 'broken', check: () => Promise.reject(new Error('connection refused')) });
    try {
      const res = await t.app.inject({ method: 'GET', url: '/health/ready' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({
        status: 'unavailable',
        checks: { database: { status: 'up' }, broken: { status: 'down', error: 'connection refused' } },
      });
    } finally {
      t.deps.readiness.pop();
    }
  });
});

describe('request ids', () => {
  it('honours and echoes an incoming x-request-id', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/health/live',
      headers: { 'x-request-id': 'abc-123' },
    });
    expect(res.headers['x-request-id']).toBe('abc-123');
  });

  it('generates one when none (or a malformed one) is sent', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/health/live',
      headers: { 'x-request-id': 'bad id\n' },
    });
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('docs', () => {
  it('serves an OpenAPI 3.1 document generated from the routes', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.paths['/health/ready'].get.responses).toHaveProperty('503');
    expect(doc.components.securitySchemes.OAuth2.flows.password.tokenUrl).toBe('/api/auth/token');
  });

  it('gives every route a summary and a response schema per status', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    for (const [route, methods] of Object.entries<Record<string, { summary?: string; responses?: object }>>(
      doc.paths,
    )) {
      for (const [method, operation] of Object.entries(methods)) {
        expect(operation.summary, `${method} ${route} summary`).toBeTruthy();
        expect(Object.keys(operation.responses ?? {}).length, `${method} ${route} responses`).toBeGreaterThan(
          0,
        );
      }
    }
  });

  it('serves Swagger UI at /docs', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/docs/' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('swagger');
  });
});

describe('error handling', () => {
  it('serializes through the response schema: undeclared fields never leave the server', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/probe/echo',
      payload: { user: { email: 'a@example.com', name: 'ann' } },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ name: 'ann' });
  });

  it('answers schema violations with 422 naming every field, in RealWorld form', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/probe/echo',
      payload: { user: { email: 'not-an-email', name: 'far too long' } },
    });
    expect(res.statusCode).toBe(422);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const body = res.json();
    expectProblem(body, 422);
    expect(Object.keys(body.errors).sort()).toEqual(['email', 'name']);
    expect(body.errors.name[0]).toMatch(/5 characters/);
  });

  it('names a missing field', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/probe/echo',
      payload: { user: { name: 'ann' } },
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().errors).toEqual({ email: ['is required'] });
  });

  it('answers malformed JSON with 400', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/probe/echo',
      headers: { 'content-type': 'application/json' },
      payload: '{"user": ',
    });
    expect(res.statusCode).toBe(400);
    expectProblem(res.json(), 400);
  });

  it('answers a body over the limit with 413', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/probe/echo',
      payload: { user: { email: 'a@example.com', name: 'x'.repeat(4096) } },
    });
    expect(res.statusCode).toBe(413);
    expectProblem(res.json(), 413);
  });

  it('answers unexpected errors with a generic 500 and keeps the details out of the body', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/probe/boom' });
    expect(res.statusCode).toBe(500);
    const body = res.json();
    expectProblem(body, 500);
    expect(res.body).not.toMatch(/relation|SELECT|at .*\.ts/);
  });

  it('answers typed errors with their status and field errors', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/probe/taken' });
    expect(res.statusCode).toBe(422);
    expect(res.json().errors).toEqual({ email: ['has already been taken'] });
  });
});

describe('CORS', () => {
  it('answers a preflight with the authorization header allowed', async () => {
    const res = await t.app.inject({
      method: 'OPTIONS',
      url: '/health/live',
      headers: {
        origin: 'http://localhost:4200',
        'access-control-request-method': 'PUT',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    expect(res.statusCode).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('http://localhost:4200');
    expect(res.headers['access-control-allow-headers']).toMatch(/authorization/);
  });
});

function addProbeRoutes(app: FastifyInstance) {
  app.register(
    async (probe) => {
      probe.post(
        '/echo',
        {
          schema: {
            hide: true,
            body: Type.Object({
              user: Type.Object({
                email: Type.String({ format: 'email' }),
                name: Type.String({ maxLength: 5 }),
              }),
            }),
            response: { 200: Type.Object({ name: Type.String() }) },
          },
        },
        async (request) => {
          const body = request.body as { user: { name: string } };
          return { name: body.user.name, secret: 'never leaves' };
        },
      );
      probe.get('/boom', { schema: { hide: true } }, async () => {
        throw new Error('relation "users" does not exist at SELECT * FROM users');
      });
      probe.get('/taken', { schema: { hide: true } }, async () => {
        throw new ValidationError({ email: ['has already been taken'] });
      });
    },
    { prefix: '/probe' },
  );
}
