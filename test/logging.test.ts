import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './support/app.js';

const lines: string[] = [];
let t: TestApp;

beforeAll(async () => {
  t = await createTestApp(
    { LOG_LEVEL: 'info' },
    {
      logStream: { write: (line: string) => lines.push(line) },
      beforeReady: (app) => {
        // A route that carelessly logs what it received, as a bug might.
        app.post('/probe/careless', { schema: { hide: true } }, async (request) => {
          request.log.info({ body: request.body, headers: request.headers }, 'received');
          request.log.info({ user: { email: 'a@example.com', password: 'hunter2-secret' } }, 'user');
          return { ok: true };
        });
      },
    },
  );
});
afterAll(() => t.close());

describe('logging', () => {
  it('writes one JSON line per event with the request id', async () => {
    lines.length = 0;
    // (health probes log only warnings, so use another route)
    await t.app.inject({ method: 'GET', url: '/api/nothing', headers: { 'x-request-id': 'req-abc' } });
    const entries = lines.map((line) => JSON.parse(line)).filter((entry) => entry.reqId === 'req-abc');
    // One access line per request, when it is answered, with what an access log needs.
    expect(entries).toEqual([
      expect.objectContaining({
        msg: 'request completed',
        // inject() comes from 127.0.0.1; the address was once silently dropped from this line.
        req: expect.objectContaining({ method: 'GET', url: '/api/nothing', remoteAddress: '127.0.0.1' }),
        res: { statusCode: 404 },
        responseTime: expect.any(Number),
      }),
    ]);
  });

  it('redacts authorization, cookies, passwords and tokens wherever they appear', async () => {
    lines.length = 0;
    await t.app.inject({
      method: 'POST',
      url: '/probe/careless',
      headers: { authorization: 'Token secret-jwt-value', cookie: 'session=secret-cookie' },
      payload: {
        password: 'hunter2-body',
        refresh_token: 'secret-refresh',
        user: { password: 'hunter2-nested' },
      },
    });
    const output = lines.join('\n');
    expect(output).toContain('received');
    expect(output).toContain('[redacted]');
    for (const secret of ['secret-jwt-value', 'secret-cookie', 'hunter2', 'secret-refresh']) {
      expect(output).not.toContain(secret);
    }
  });
});
