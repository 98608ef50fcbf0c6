import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

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
