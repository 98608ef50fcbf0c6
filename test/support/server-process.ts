import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { testDatabaseKind } from './app.js';
import { watchChildWarnings } from './process-warnings.js';

/** `npm start` as a command line: the TypeScript sources through tsx. */
export const TSX_SERVER = [path.resolve('node_modules/.bin/tsx'), path.resolve('src/server.ts')];

export interface ServerProcess {
  child: ChildProcess;
  baseUrl: string;
  /** Everything it printed so far (stdout and stderr). */
  logs: () => string;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
}

/** Spawns a server and resolves once it prints where it listens. */
export function startServerProcess(command: string[], env: Record<string, string>): Promise<ServerProcess> {
  const [executable = '', ...args] = command;
  const child = spawn(executable, args, { env });
  watchChildWarnings(`server ${command.map((part) => path.basename(part)).join(' ')}`, child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let logs = '';
  return new Promise<ServerProcess>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${logs}`)), 45_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      logs += chunk;
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(logs);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve({ child, baseUrl: match[1], logs: () => logs, exited });
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      logs += chunk;
    });
    child.once('exit', () => reject(new Error(`server exited:\n${logs}`)));
  });
}

/** SIGTERM, and wait for the exit (nothing to do if it has already exited). */
export async function stopServerProcess(server: ServerProcess | undefined): Promise<void> {
  if (!server || server.child.exitCode !== null) return;
  server.child.kill('SIGTERM');
  await server.exited;
}

export interface ServerSandbox {
  /** A production environment on a temporary DATA_DIR, and an empty database of its own in the
   * postgres project (PGlite under DATA_DIR otherwise): the server must migrate it at start. */
  env: Record<string, string>;
  remove(): Promise<void>;
}

export async function serverSandbox(
  label: string,
  extra: Record<string, string> = {},
): Promise<ServerSandbox> {
  const dataDir = mkdtempSync(path.join(tmpdir(), `conduit-${label}-`));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'production',
    JWT_SECRET: 'a-production-grade-secret-of-more-than-32-chars',
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    ...extra,
  };
  let dropDatabase = async () => {};
  if (testDatabaseKind === 'postgres') {
    const adminUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
    const name = `conduit_${label.replace(/\W/g, '_')}_${process.pid}`;
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`drop database if exists ${name}`);
    await admin.unsafe(`create database ${name}`);
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    env.DATABASE_URL = url.toString();
    dropDatabase = async () => {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    };
  }
  return {
    env,
    remove: async () => {
      await dropDatabase();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
