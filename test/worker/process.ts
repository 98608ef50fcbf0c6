import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { waitFor } from '../jobs/support.js';
import { TEST_JWT_SECRET, type TestApp } from '../support/app.js';
import { watchChildWarnings } from '../support/process-warnings.js';
import { TEST_REDIS_URL } from '../support/services.js';

const WORKER = path.resolve('src/worker.ts');

export interface LogLine {
  level: number;
  msg: string;
  pid: number;
  jobId?: string;
  job?: string;
  attempt?: number;
  outcome?: string;
  [key: string]: unknown;
}

/** A real `src/worker.ts` process; `node --import tsx` so that signals reach the worker itself. */
export class WorkerProcess {
  readonly child: ChildProcess;
  readonly lines: LogLine[] = [];
  output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(env: Record<string, string | undefined>) {
    this.child = spawn(process.execPath, ['--import', 'tsx', WORKER], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    watchChildWarnings('worker process', this.child);
    let pending = '';
    this.child.stdout?.on('data', (chunk: Buffer) => {
      this.output += chunk;
      pending += chunk;
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      for (const part of parts) {
        try {
          this.lines.push(JSON.parse(part) as LogLine);
        } catch {
          // Not a log line (a warning printed by a dependency): kept in `output` only.
        }
      }
    });
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.output += chunk;
    });
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => resolve({ code, signal })),
    );
  }

  /** Attempt log lines of one job. */
  attempts(jobId: string): LogLine[] {
    return this.lines.filter((line) => line.jobId === jobId && line.outcome !== undefined);
  }

  started(): boolean {
    return this.lines.some((line) => line.msg === 'worker started');
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }
}

/** The environment of a worker process next to the API of `t` (see startWorkerFor). */
export function workerEnv(t: TestApp): Record<string, string | undefined> {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    JWT_SECRET: TEST_JWT_SECRET,
    DATA_DIR: t.dataDir,
    DATABASE_URL: t.config.databaseUrl,
    DATABASE_POOLER: t.config.databasePooler,
    REDIS_URL: TEST_REDIS_URL,
    MIGRATE_ON_START: 'false',
  };
}

/**
 * A worker process next to the API of `t`, as production runs one: same database, data dir and
 * Redis, logging at info (tests read the lines), migrations left to the API. `env` adds to or
 * overrides that. Resolves once the worker says it has started.
 */
export async function startWorkerFor(t: TestApp, env: Record<string, string>): Promise<WorkerProcess> {
  const worker = new WorkerProcess({ ...workerEnv(t), ...env });
  await waitFor(`the worker to start:\n${worker.output}`, () => worker.started(), 30_000);
  return worker;
}
