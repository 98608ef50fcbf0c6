import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { removeQueueKeys, waitFor } from '../jobs/support.js';
import { createTestApp, type TestApp, testDatabaseKind } from '../support/app.js';
import {
  type ServerProcess,
  type ServerSandbox,
  serverSandbox,
  startServerProcess,
} from '../support/server-process.js';
import { describeWithRedis, TEST_REDIS_URL } from '../support/services.js';
import { workerEnv } from '../worker/process.js';
import { acceptsConnections, processAlive } from './http-client.js';

/**
 * The scripts as a supervisor or a terminal runs them: `npm start` / `npm run worker` (npm from
 * PATH, then sh, then node), and the stop signal sent to the process npm is — the only one the
 * supervisor knows. The process doing the work must stop too, not be orphaned still listening.
 */

/** The pid of the process that wrote a JSON log line: node, under npm and sh. */
function loggingPid(logs: string): number {
  const line = logs.split('\n').find((text) => text.startsWith('{') && text.includes('"pid"'));
  const pid = line ? (JSON.parse(line) as { pid?: number }).pid : undefined;
  if (!pid) throw new Error(`no log line with a pid:\n${logs}`);
  return pid;
}

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

// Embedded mode (PGlite, no services): what `npm install && npm start` runs.
describe.runIf(testDatabaseKind === 'pglite')('npm start', () => {
  let sandbox: ServerSandbox | undefined;
  let server: ServerProcess | undefined;
  let nodePid: number | undefined;
  afterEach(async () => {
    if (nodePid && processAlive(nodePid)) process.kill(nodePid, 'SIGKILL');
    if (server && server.child.exitCode === null) server.child.kill('SIGKILL');
    await sandbox?.remove();
  });

  it.each(SIGNALS)(
    'stops on %s to the npm process: exit 0, nothing left listening',
    async (signal) => {
      sandbox = await serverSandbox(`npm_start_${signal}`, { SHUTDOWN_TIMEOUT: '10s' });
      server = await startServerProcess(['npm', 'start'], sandbox.env);
      const port = Number(new URL(server.baseUrl).port);
      nodePid = loggingPid(server.logs());
      expect(nodePid).not.toBe(server.child.pid);
      const sent = Date.now();
      server.child.kill(signal);
      expect(await server.exited).toBe(0);
      expect(Date.now() - sent).toBeLessThan(10_000);
      expect(processAlive(nodePid)).toBe(false);
      expect(await acceptsConnections(port)).toBe(false);
      expect(server.logs()).toContain('shutdown complete');
    },
    120_000,
  );
});

class NpmWorker {
  readonly child: ChildProcess;
  output = '';
  readonly exited: Promise<number | null>;
  constructor(env: Record<string, string | undefined>) {
    this.child = spawn('npm', ['run', 'worker'], { env: { PATH: process.env.PATH ?? '', ...env } });
    this.child.stdout?.on('data', (chunk: Buffer) => {
      this.output += chunk;
    });
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.output += chunk;
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }
}

// A worker needs PostgreSQL and Redis.
describeWithRedis.runIf(testDatabaseKind === 'postgres')('npm run worker', () => {
  let t: TestApp;
  const prefix = `signals-${randomBytes(4).toString('hex')}`;
  let worker: NpmWorker | undefined;
  let nodePid: number | undefined;
  beforeAll(async () => {
    t = await createTestApp({ REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, RUN_JOBS_IN_API: 'false' });
  });
  afterEach(() => {
    if (nodePid && processAlive(nodePid)) process.kill(nodePid, 'SIGKILL');
    if (worker && worker.child.exitCode === null) worker.child.kill('SIGKILL');
  });
  afterAll(async () => {
    await t?.close();
    await removeQueueKeys(prefix);
  });

  it.each(SIGNALS)(
    'stops on %s to the npm process: exit 0, the worker process gone',
    async (signal) => {
      worker = new NpmWorker({ ...workerEnv(t), QUEUE_PREFIX: prefix, WORKER_SHUTDOWN_TIMEOUT: '10s' });
      const running = worker;
      await waitFor(
        `the worker to start:\n${running.output}`,
        () => running.output.includes('worker started'),
        60_000,
      );
      nodePid = loggingPid(running.output);
      expect(nodePid).not.toBe(running.child.pid);
      const sent = Date.now();
      running.child.kill(signal);
      expect(await running.exited).toBe(0);
      expect(Date.now() - sent).toBeLessThan(10_000);
      expect(processAlive(nodePid)).toBe(false);
      expect(running.output).toContain('worker stopped');
    },
    120_000,
  );
});
