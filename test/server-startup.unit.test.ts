import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/** The real entry point, as `npm start` runs it; no database is reached before config is valid. */
const TSX = path.resolve('node_modules/.bin/tsx');
const SERVER = path.resolve('src/server.ts');

function runToExit(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(TSX, [SERVER], { env: { PATH: process.env.PATH ?? '', ...env } });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

describe('startup with a bad environment', () => {
  it.each([
    [{ PORT: 'abc' }, 'config error: PORT must be a whole number, got "abc"'],
    [
      { DATABASE_URL: 'localhost:5432/db' },
      'config error: DATABASE_URL must start with postgres:// or postgresql://',
    ],
    [{ NODE_ENV: 'production' }, 'config error: JWT_SECRET is required when NODE_ENV=production'],
  ])('%o stops with one clear line and a non-zero exit code', async (env, line) => {
    const run = await runToExit({ DATA_DIR: mkdtempSync(path.join(tmpdir(), 'conduit-bad-')), ...env });
    expect(run.code).not.toBe(0);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(line);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
