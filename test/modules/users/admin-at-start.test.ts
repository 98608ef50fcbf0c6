import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseKind } from '../../support/app.js';

/** `npm start` with ADMIN_EMAIL and ADMIN_PASSWORD: the admin exists once the server listens. */
const TSX = path.resolve('node_modules/.bin/tsx');
const SERVER = path.resolve('src/server.ts');
const ADMIN = { email: 'Chief@Example.com', password: 'chief admin password' };

interface Started {
  child: ChildProcess;
  baseUrl: string;
  logs: () => string;
}

function start(env: Record<string, string>): Promise<Started> {
  const child = spawn(TSX, [SERVER], { env });
  let logs = '';
  return new Promise<Started>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${logs}`)), 45_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      logs += chunk;
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(logs);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve({ child, baseUrl: match[1], logs: () => logs });
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      logs += chunk;
    });
    child.once('exit', () => reject(new Error(`server exited:\n${logs}`)));
  });
}

async function stop(server: Started | undefined): Promise<void> {
  if (!server || server.child.exitCode !== null) return;
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  await exited;
}

describe('admin account at start', () => {
  let env: Record<string, string>;
  let dataDir = '';
  let cleanup: () => Promise<void> = async () => {};
  let server: Started | undefined;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'conduit-admin-'));
    env = {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      JWT_SECRET: 'a-production-grade-secret-of-more-than-32-chars',
      HOST: '127.0.0.1',
      PORT: '0',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
    };
    if (testDatabaseKind === 'postgres') {
      const adminUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
      const name = `conduit_admin_start_${process.pid}`;
      const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
      await sql.unsafe(`drop database if exists ${name}`);
      await sql.unsafe(`create database ${name}`);
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      env.DATABASE_URL = url.toString();
      cleanup = async () => {
        await sql.unsafe(`drop database if exists ${name} with (force)`);
        await sql.end();
      };
    }
  }, 60_000);

  afterAll(async () => {
    await stop(server);
    await cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates the admin on the first start, who can then log in', async () => {
    server = await start(env);
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
    await stop(server);
    server = await start(env);
    expect(server.logs()).toContain('"outcome":"unchanged"');
  }, 60_000);
});
