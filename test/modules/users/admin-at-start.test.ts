import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ServerProcess,
  type ServerSandbox,
  serverSandbox,
  startServerProcess,
  stopServerProcess,
  TSX_SERVER,
} from '../../support/server-process.js';

/** `npm start` with ADMIN_EMAIL and ADMIN_PASSWORD: the admin exists once the server listens. */
const ADMIN = { email: 'Chief@Example.com', password: 'chief admin password' };

describe('admin account at start', () => {
  let sandbox: ServerSandbox | undefined;
  let server: ServerProcess | undefined;
  const start = () => startServerProcess(TSX_SERVER, sandbox?.env ?? {});

  beforeAll(async () => {
    sandbox = await serverSandbox('admin_start', {
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
    });
  }, 60_000);

  afterAll(async () => {
    await stopServerProcess(server);
    await sandbox?.remove();
  });

  it('creates the admin on the first start, who can then log in', async () => {
    server = await start();
    expect(server.logs()).toContain('"outcome":"created"');
    expect(server.logs()).not.toContain(ADMIN.password);
    const res = await fetch(`${server.baseUrl}/api/auth/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'password',
        username: 'chief@example.com',
        password: ADMIN.password,
      }),
    });
    expect(res.status).toBe(200);
    const { access_token } = (await res.json()) as { access_token: string };
    const me = await fetch(`${server.baseUrl}/api/user`, {
      headers: { authorization: `Bearer ${access_token}` },
    });
    expect(((await me.json()) as { user: { email: string } }).user.email).toBe('chief@example.com');
  }, 60_000);

  it('changes nothing on the next start', async () => {
    await stopServerProcess(server);
    server = await start();
    expect(server.logs()).toContain('"outcome":"unchanged"');
  }, 60_000);
});
