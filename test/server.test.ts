import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseKind } from './support/app.js';

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
    command: [path.resolve('node_modules/.bin/tsx'), path.resolve('src/server.ts')],
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
  let child: ChildProcess;
  let baseUrl: string;
  let logs = '';
  let dataDir = '';
  let cleanup: () => Promise<void> = async () => {};
  const exited = () => new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  beforeAll(async () => {
    await prepare();
    dataDir = mkdtempSync(path.join(tmpdir(), 'conduit-server-'));
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      JWT_SECRET: 'a-production-grade-secret-of-more-than-32-chars',
      HOST: '127.0.0.1',
      PORT: '0',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
    };
    if (testDatabaseKind === 'postgres') {
      // An empty database: the server must migrate it at start.
      const adminUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
      const name = `conduit_server_${process.pid}_${id}`;
      const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
      await admin.unsafe(`drop database if exists ${name}`);
      await admin.unsafe(`create database ${name}`);
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      env.DATABASE_URL = url.toString();
      cleanup = async () => {
        await admin.unsafe(`drop database if exists ${name} with (force)`);
        await admin.end();
      };
    }
    const [executable = '', ...args] = command;
    child = spawn(executable, args, { env });
    baseUrl = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start:\n${logs}`)), 45_000);
      child.stdout?.on('data', (chunk: Buffer) => {
        logs += chunk;
        const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(logs);
        if (match?.[1]) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
      child.stderr?.on('data', (chunk: Buffer) => {
        logs += chunk;
      });
      child.once('exit', () => reject(new Error(`server exited:\n${logs}`)));
    });
  }, 180_000);

  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await cleanup();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(BUILD_DIR, { recursive: true, force: true });
  });

  it('migrates the database at start and answers', async () => {
    const res = await fetch(`${baseUrl}/health/ready`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ checks: { database: { status: 'up' } } });
  });

  it('logs JSON lines in production, with the request id and the docs address', async () => {
    await fetch(`${baseUrl}/health/live`, { headers: { 'x-request-id': 'trace-me-42' } });
    const lines = logs.trim().split('\n');
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    expect(logs).toContain('/docs');
  });

  it('shuts down gracefully on SIGTERM with exit code 0', async () => {
    const exit = exited();
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(logs).toContain('shutting down');
    await expect(fetch(`${baseUrl}/health/live`)).rejects.toThrow();
  });
});
