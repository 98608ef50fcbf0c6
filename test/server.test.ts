import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { testDatabaseKind } from './support/app.js';
import {
  type ServerProcess,
  type ServerSandbox,
  serverSandbox,
  startServerProcess,
  TSX_SERVER,
} from './support/server-process.js';

/**
 * The real entry points: the TypeScript sources as `npm start` runs them, and the production build
 * as `npm run build && npm run start:prod` makes and runs it. Each project builds into a folder of
 * its own (both run this file at once), directly under the root like dist/, so the compiled code
 * finds migrations/ where dist/ would.
 */
const BUILD_DIR = path.resolve(`.build-test-${testDatabaseKind}`);
const entryPoints = [
  {
    id: 'tsx',
    name: 'npm start (tsx)',
    prepare: async () => {},
    command: TSX_SERVER,
  },
  {
    id: 'build',
    name: 'npm run start:prod (compiled)',
    prepare: async () => {
      rmSync(BUILD_DIR, { recursive: true, force: true });
      await new Promise<void>((resolve, reject) =>
        execFile(
          path.resolve('node_modules/.bin/tsc'),
          ['-p', 'tsconfig.build.json', '--outDir', BUILD_DIR],
          (error, stdout) => (error ? reject(new Error(`build failed:\n${stdout}`)) : resolve()),
        ),
      );
    },
    command: [process.execPath, path.join(BUILD_DIR, 'server.js')],
  },
];

describe.each(entryPoints)('a running server: $name', ({ id, prepare, command }) => {
  let sandbox: ServerSandbox | undefined;
  let server: ServerProcess;

  beforeAll(async () => {
    await prepare();
    sandbox = await serverSandbox(`server_${id}`);
    server = await startServerProcess(command, sandbox.env);
  }, 180_000);

  afterAll(async () => {
    if (server && server.child.exitCode === null) server.child.kill('SIGKILL');
    await sandbox?.remove();
    rmSync(BUILD_DIR, { recursive: true, force: true });
  });

  it('migrates the database at start and answers', async () => {
    const res = await fetch(`${server.baseUrl}/health/ready`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ checks: { database: { status: 'up' } } });
  });

  it('logs JSON lines in production, with the request id and the docs address', async () => {
    const res = await fetch(`${server.baseUrl}/api/tags`, { headers: { 'x-request-id': 'trace-me-42' } });
    expect(res.headers.get('x-request-id')).toBe('trace-me-42');
    const accessLine = () =>
      server
        .logs()
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line))
        .find((entry) => entry.reqId === 'trace-me-42');
    await vi.waitFor(() =>
      expect(accessLine()).toMatchObject({ msg: 'request completed', res: { statusCode: 200 } }),
    );
    expect(server.logs()).toContain('/docs');
  });

  it('shuts down gracefully on SIGTERM with exit code 0', async () => {
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(server.logs()).toContain('shutting down');
    await expect(fetch(`${server.baseUrl}/health/live`)).rejects.toThrow();
  });
});
