import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type ServerProcess,
  type ServerSandbox,
  serverSandbox,
  startServerProcess,
} from '../support/server-process.js';
import { acceptsConnections, HeldRequest } from './http-client.js';

/** One process, as `npm start` runs it since it execs node (test/faults/signals.test.ts). */
const SERVER = [process.execPath, '--import', 'tsx', path.resolve('src/server.ts')];

let sandbox: ServerSandbox | undefined;
let server: ServerProcess | undefined;

afterEach(async () => {
  if (server && server.child.exitCode === null && server.child.signalCode === null) {
    server.child.kill('SIGKILL');
    await server.exited;
  }
  await sandbox?.remove();
  server = undefined;
  sandbox = undefined;
});

async function start(shutdownTimeout: string): Promise<{ server: ServerProcess; port: number }> {
  sandbox = await serverSandbox('shutdown', { SHUTDOWN_TIMEOUT: shutdownTimeout });
  server = await startServerProcess(SERVER, sandbox.env);
  return { server, port: Number(new URL(server.baseUrl).port) };
}

/** SIGTERM; resolves with the exit code and the time it took. */
async function terminate(running: ServerProcess): Promise<{ code: number | null; ms: number }> {
  const sent = Date.now();
  running.child.kill('SIGTERM');
  const code = await running.exited;
  return { code, ms: Date.now() - sent };
}

/** Keep-alive clients asking in a loop until `stop`; every answer or failure is counted. */
function keepAliveLoad(baseUrl: string, clients: number) {
  const statuses = new Map<string, number>();
  let running = true;
  const count = (key: string) => statuses.set(key, (statuses.get(key) ?? 0) + 1);
  const loops = Array.from({ length: clients }, async () => {
    while (running) {
      try {
        const res = await fetch(`${baseUrl}/api/articles?limit=5`);
        await res.arrayBuffer();
        count(String(res.status));
      } catch {
        // A refused new connection, or a kept-alive one the closing server ended.
        count('connection error');
      }
    }
  });
  return {
    statuses,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

describe('SIGTERM under load', () => {
  it('finishes in-flight requests, refuses new connections and exits 0 within SHUTDOWN_TIMEOUT', async () => {
    const { server, port } = await start('8s');
    const user = {
      username: `held${process.pid}`,
      email: `held${process.pid}@example.com`,
      password: 'a long password',
    };
    const registered = await fetch(`${server.baseUrl}/api/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user }),
    });
    expect(registered.status).toBe(201);

    const load = keepAliveLoad(server.baseUrl, 8);
    await new Promise((resolve) => setTimeout(resolve, 500));
    // Logins in flight: the server has their headers and waits for the rest of their bodies.
    const login = { user: { email: user.email, password: user.password } };
    const inFlight = await Promise.all(
      Array.from({ length: 4 }, () => HeldRequest.open(port, '/api/users/login', login)),
    );
    const exit = terminate(server);
    await expect.poll(() => acceptsConnections(port), { timeout: 5000 }).toBe(false);
    // Answered after the signal, over connections kept alive: the login succeeds.
    expect(await Promise.all(inFlight.map((request) => request.finish()))).toEqual([200, 200, 200, 200]);
    const { code, ms } = await exit;
    await load.stop();
    expect(code).toBe(0);
    expect(ms).toBeLessThan(8000);
    // Kept-alive connections were closed by the server, not left to their idle timeout.
    await Promise.all(inFlight.map((request) => request.closed()));
    // Before the signal 200s; after it, only 503 on a kept-alive connection or a refused one.
    expect(load.statuses.get('200')).toBeGreaterThan(0);
    for (const key of load.statuses.keys()) expect(['200', '503', 'connection error']).toContain(key);
    expect(server.logs()).toContain('shutdown complete');
  }, 90_000);

  it('exits when nobody reads its log (a stalled log collector, a full pipe)', async () => {
    const { server } = await start('8s');
    // Stop reading its stdout: once the pipe is full, every log write waits.
    server.child.stdout?.pause();
    for (let i = 0; i < 30; i++) {
      await Promise.all(
        Array.from({ length: 20 }, () =>
          fetch(`${server.baseUrl}/api/tags`).then((res) => res.arrayBuffer()),
        ),
      );
    }
    const { code, ms } = await terminate(server);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(8000);
  }, 90_000);

  it('exits at the deadline, code 1, when an in-flight request never finishes', async () => {
    const { server, port } = await start('2s');
    const stuck = await HeldRequest.open(port, '/api/users/login', {
      user: { email: 'x@example.com', password: 'y' },
    });
    const { code, ms } = await terminate(server);
    stuck.destroy();
    expect(code).toBe(1);
    expect(ms).toBeGreaterThanOrEqual(2000);
    expect(ms).toBeLessThan(2000 + 1500);
    expect(server.logs()).toContain('shutdown deadline reached');
  }, 90_000);
});
