import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type postgres from 'postgres';
import { type LockWaits, sampleLockWaits } from './locks.js';

const execFileAsync = promisify(execFile);

/**
 * The database's ceiling for the create-article transaction: pgbench replays its statements
 * (bench/pgbench/create-article.sql) with as many clients as the HTTP scenario has connections,
 * on the bench database, while the same lock sampler runs. `POST /api/articles` req/s over this
 * TPS is how much of what PostgreSQL allows the API reaches. The articles and outbox rows it
 * writes are deleted afterwards (before the outbox sweep could hand them to the worker).
 */

export const PGBENCH_SCRIPT = path.join(import.meta.dirname, 'pgbench/create-article.sql');

/** pgbench on PATH, or the one of an installed PostgreSQL (Debian keeps it out of PATH sometimes). */
export async function findPgbench(): Promise<string | undefined> {
  try {
    const { stdout } = await execFileAsync('sh', ['-c', 'command -v pgbench']);
    if (stdout.trim()) return stdout.trim();
  } catch {
    // not on PATH
  }
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  for (const version of readdirSync(root).sort().reverse()) {
    const candidate = path.join(root, version, 'bin/pgbench');
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

export interface PgbenchResult {
  tps: number;
  /** Average latency per transaction, ms, as pgbench reports it. */
  latencyMs: number;
  failed: number;
  lockWaits: LockWaits;
}

export async function runPgbench(options: {
  binary: string;
  databaseUrl: string;
  sql: postgres.Sql;
  clients: number;
  seconds: number;
  authorIds: readonly number[];
}): Promise<PgbenchResult> {
  const { binary, databaseUrl, sql, clients, seconds, authorIds } = options;
  const sampler = sampleLockWaits(sql);
  let stdout: string;
  let lockWaits: LockWaits;
  try {
    ({ stdout } = await execFileAsync(
      binary,
      [
        '-n',
        '-M',
        'prepared',
        '-c',
        String(clients),
        '-j',
        '2',
        '-T',
        String(seconds),
        '-D',
        `author_min=${Math.min(...authorIds)}`,
        '-D',
        `author_max=${Math.max(...authorIds)}`,
        '-f',
        PGBENCH_SCRIPT,
        databaseUrl,
      ],
      { timeout: (seconds + 60) * 1000, maxBuffer: 16 * 1024 * 1024 },
    ));
  } finally {
    lockWaits = await sampler.stop();
    // What it wrote: articles (links and counters go with them) and their pending outbox rows.
    await sql`
      delete from job_outbox
      where name = 'notifications.article-published'
        and (payload ->> 'articleId')::int in (select id from articles where slug like 'pgbench-%')`;
    await sql`delete from articles where slug like 'pgbench-%'`;
  }
  const tps = Number(/^tps = ([\d.]+)/m.exec(stdout)?.[1] ?? Number.NaN);
  const latencyMs = Number(/^latency average = ([\d.]+) ms/m.exec(stdout)?.[1] ?? Number.NaN);
  const failed = Number(/^number of failed transactions: (\d+)/m.exec(stdout)?.[1] ?? 0);
  if (Number.isNaN(tps)) throw new Error(`pgbench: no tps in its output:\n${stdout}`);
  return { tps, latencyMs, failed, lockWaits };
}
