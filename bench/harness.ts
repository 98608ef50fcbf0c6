import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import type postgres from 'postgres';
import { type SmtpSink, startSmtpSink } from './smtp-sink.js';

const execFileAsync = promisify(execFile);

/**
 * What the benchmarks (bench/run.ts, bench/growth.ts) share: the run's own database, Redis key
 * prefixes, JWT secret and DATA_DIR; the real server started as a child process the way
 * production runs it (bench/run.ts also starts the worker from the same build, via serverArgs);
 * the run's SMTP sink (bench/smtp-sink.ts), once started, in every server's and worker's
 * SMTP_URL; CPU time and RSS from /proc; and the cleanup that removes all of it (servers,
 * worker, sink, database, Redis keys, DATA_DIR, builds).
 * One benchmark per process, so the state of the run lives here, at module level.
 */

export const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const NODE_ARGS = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
export const ROOT = path.resolve(import.meta.dirname, '..');

export const runId = randomBytes(4).toString('hex');
export const dbName = `conduit_bench_${runId}`;
export const prefixes = {
  QUEUE_PREFIX: `conduit-bench-${runId}`,
  CACHE_KEY_PREFIX: `conduit-bench-${runId}:cache:`,
  RATE_LIMIT_KEY_PREFIX: `conduit-bench-${runId}:rl:`,
};
// One secret for every server of the run: a token from one is valid on the others.
export const jwtSecret = `bench-${randomBytes(32).toString('base64url')}`;
export const dataDir = mkdtempSync(path.join(os.tmpdir(), 'conduit-bench-'));

export function databaseUrl(): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${dbName}`;
  return url.toString();
}

export function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/** The run's SMTP sink, once started: the servers and the worker started after it send through it. */
let sink: SmtpSink | undefined;

/** Starts the run's SMTP sink (one per run); cleanup() closes it. */
export async function startSink(): Promise<SmtpSink> {
  sink ??= await startSmtpSink();
  return sink;
}

export const serverEnv = (port: number, extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  NODE_ENV: 'production',
  HOST: '127.0.0.1',
  PORT: String(port),
  DATABASE_URL: databaseUrl(),
  REDIS_URL,
  JWT_SECRET: jwtSecret,
  DATA_DIR: dataDir,
  MIGRATE_ON_START: 'false',
  RUN_JOBS_IN_API: 'false',
  LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
  // The login and favorite scenarios would otherwise hit the per-address / per-account limits.
  AUTH_RATE_LIMIT_IP_MAX: '1000000',
  AUTH_RATE_LIMIT_ACCOUNT_MAX: '1000000',
  // As `npm start` sets it: argon2's 19 MiB buffers otherwise stay in per-thread malloc arenas.
  MALLOC_ARENA_MAX: '2',
  ...(sink ? { SMTP_URL: sink.url } : {}),
  ...prefixes,
  ...extra,
});

export interface Server {
  process: ChildProcess;
  url: string;
}

export const servers: Server[] = [];

/**
 * How production runs the server: the build (`npm run build`) with `npm run start:prod`'s node
 * flags, made once per tree into `.build-bench/` (directly under the root, as dist/ is, so
 * migrations/ is found).
 * A tree without tsconfig.build.json (a comparison from before it existed), or BENCH_TSX=1, runs
 * the sources with `node --import tsx` (not the tsx CLI: one process, so its pid is the server's).
 */
export const builds = new Map<string, Promise<string[]>>();

/** The node flags of the tree's `npm run start:prod`, so the server runs as production runs it. */
function productionNodeFlags(root: string): string[] {
  const { scripts } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    scripts?: Record<string, string>;
  };
  return (scripts?.['start:prod'] ?? '').split(/\s+/).filter((word) => word.startsWith('--'));
}

/** The node arguments that run the tree's server (its build, or its sources through tsx). */
export function serverArgs(root: string): Promise<string[]> {
  let args = builds.get(root);
  if (!args) {
    args = (async () => {
      if (process.env.BENCH_TSX === '1' || !existsSync(path.join(root, 'tsconfig.build.json'))) {
        return ['--import', 'tsx', 'src/server.ts'];
      }
      const outDir = path.join(root, '.build-bench');
      rmSync(outDir, { recursive: true, force: true });
      log(`building ${root}`);
      await execFileAsync(
        path.join(ROOT, 'node_modules/.bin/tsc'),
        ['-p', 'tsconfig.build.json', '--outDir', outDir],
        {
          cwd: root,
        },
      );
      return [...productionNodeFlags(root), path.join(outDir, 'server.js')];
    })();
    builds.set(root, args);
  }
  return args;
}

export async function startServer(
  port: number,
  extra: Record<string, string> = {},
  root = ROOT,
): Promise<Server> {
  const child = spawn(process.execPath, [...NODE_ARGS, ...(await serverArgs(root))], {
    cwd: root,
    env: serverEnv(port, extra),
    // Production logs (one line per request) go to /dev/null: written, not kept.
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const server = { process: child, url: `http://127.0.0.1:${port}` };
  servers.push(server);
  // Generous: on a busy machine several servers start at once, through tsx with BENCH_TSX=1.
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server on ${port} exited with ${child.exitCode}`);
    try {
      const response = await fetch(`${server.url}/health/ready`);
      if (response.ok) return server;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error(`server on ${port} did not become ready`);
}

export async function stopServer(server: Server): Promise<void> {
  if (server.process.exitCode !== null) return;
  const exited = new Promise((resolve) => server.process.once('exit', resolve));
  server.process.kill('SIGTERM');
  await Promise.race([exited, sleep(12_000, undefined, { ref: false })]);
}

/** Resident set size of a process, MB (0 once it has exited). */
export function rssMb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/**
 * CPU seconds (user + system) the process has used: per request, it is what a change costs,
 * much less moved by other load on the machine than req/s.
 */
export function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    // utime and stime, fields 14 and 15 of proc(5), in clock ticks (100 per second on Linux).
    return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / 100;
  } catch {
    return 0;
  }
}

export async function json(url: string, init: RequestInit = {}): Promise<Record<string, unknown>> {
  const response = await fetch(url, {
    ...init,
    headers: { 'content-type': 'application/json', ...(init.headers ?? {}) },
  });
  if (!response.ok)
    throw new Error(`${init.method ?? 'GET'} ${url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as Record<string, unknown>;
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

export async function cleanup(
  admin: postgres.Sql,
  { keepDatabase = false }: { keepDatabase?: boolean } = {},
): Promise<void> {
  for (const server of servers) await stopServer(server);
  await sink?.close();
  if (!keepDatabase) {
    await admin`drop database if exists ${admin(dbName)} with (force)`.catch((error: unknown) =>
      log(`could not drop ${dbName}: ${String(error)}`),
    );
  }
  await admin.end({ timeout: 5 });
  const redis = new Redis(REDIS_URL);
  for (const prefix of Object.values(prefixes)) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  }
  await redis.quit();
  rmSync(dataDir, { recursive: true, force: true });
  for (const root of builds.keys()) rmSync(path.join(root, '.build-bench'), { recursive: true, force: true });
}
