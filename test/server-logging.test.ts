import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseKind } from './support/app.js';
import {
  type ServerProcess,
  type ServerSandbox,
  serverSandbox,
  startServerProcess,
} from './support/server-process.js';

const SERVER = [process.execPath, '--import', 'tsx', path.resolve('src/server.ts')];
/** `[12:00:00.123] INFO (api): …`: time, level and component, the same for every module. */
const LINE = /^\[\d{2}:\d{2}:\d{2}\.\d{3}\] (TRACE|DEBUG|INFO|WARN|ERROR|FATAL) \((\w+)\): \S/;
const ACCESS = /^\[[\d:.]+\] INFO \(api\): (\w+ \S+ \d{3}) \d+\.\d ms$/;

// The development console, as `npm run dev` or `npm start` without NODE_ENV show it.
describe.runIf(testDatabaseKind === 'pglite')('development console', () => {
  let sandbox: ServerSandbox | undefined;
  let server: ServerProcess;
  beforeAll(async () => {
    sandbox = await serverSandbox('dev_console', { NODE_ENV: 'development' });
    server = await startServerProcess(SERVER, sandbox.env);
  }, 120_000);
  afterAll(async () => {
    if (server && server.child.exitCode === null) server.child.kill('SIGKILL');
    await sandbox?.remove();
  });

  const lines = () =>
    server
      .logs()
      .split('\n')
      .filter((line) => line.trim() !== '');

  it('prints one line per request, and every module the same shape of line', async () => {
    expect((await fetch(`${server.baseUrl}/api/tags`)).status).toBe(200);
    expect((await fetch(`${server.baseUrl}/api/tags`)).status).toBe(200);
    expect((await fetch(`${server.baseUrl}/api/articles/no-such-article`)).status).toBe(404);
    const user = { username: 'console', email: 'console@example.com', password: 'a long password' };
    const registered = await fetch(`${server.baseUrl}/api/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user }),
    });
    expect(registered.status).toBe(201);
    // The sign-up's verification email: a line of the mailer, written by the in-process job, and
    // the job's own line, logged once the job has finished.
    await expect
      .poll(() => ['(mailer)', '(jobs)'].every((tag) => lines().some((line) => line.includes(tag))), {
        timeout: 15_000,
      })
      .toBe(true);

    expect(lines().flatMap((line) => ACCESS.exec(line)?.[1] ?? [])).toEqual([
      'GET /api/tags 200',
      'GET /api/tags 200',
      'GET /api/articles/no-such-article 404',
      'POST /api/users 201',
    ]);
    // Nothing else about a request: no "incoming request" line, no request/response dump.
    expect(lines().filter((line) => line.includes('/api/tags'))).toHaveLength(2);
    expect(lines().filter((line) => line.includes('no-such-article'))).toHaveLength(1);
    expect(server.logs()).not.toContain('incoming request');
    expect(server.logs()).not.toContain('"req"');
    expect(lines().find((line) => line.includes('(mailer)'))).toMatch(
      /^\[[\d:.]+\] INFO \(mailer\): email written to \S+\.eml/,
    );
    // Every line of every module (server start-up, api, mailer, jobs) has the one shape.
    for (const line of lines()) expect(line).toMatch(LINE);
    const components = new Set(lines().map((line) => LINE.exec(line)?.[2]));
    expect([...components]).toEqual(expect.arrayContaining(['api', 'mailer', 'jobs']));
  });
});
