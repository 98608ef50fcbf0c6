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
 *
 * `triggers: false` replays the same statements with every trigger off (session_replication_role
 * = replica, which also skips the foreign-key checks): what this machine's PostgreSQL does for
 * the bare statements, without the counters and tag lists the schema keeps. Its rows are removed
 * with the triggers off too, so no counter moves for articles it never counted.
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
  /** Default true; false: every trigger off (see above). Needs a superuser, as the bench is. */
  triggers?: boolean;
}): Promise<PgbenchResult> {
  const { binary, databaseUrl, sql, clients, seconds, authorIds, triggers = true } = options;
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
      {
        timeout: (seconds + 60) * 1000,
        maxBuffer: 16 * 1024 * 1024,
        ...(triggers ? {} : { env: { ...process.env, PGOPTIONS: '-c session_replication_role=replica' } }),
      },
    ));
  } finally {
    lockWaits = await sampler.stop();
    await removeWrites(sql, triggers);
  }
  const tps = Number(/^tps = ([\d.]+)/m.exec(stdout)?.[1] ?? Number.NaN);
  const latencyMs = Number(/^latency average = ([\d.]+) ms/m.exec(stdout)?.[1] ?? Number.NaN);
  const failed = Number(/^number of failed transactions: (\d+)/m.exec(stdout)?.[1] ?? 0);
  if (Number.isNaN(tps)) throw new Error(`pgbench: no tps in its output:\n${stdout}`);
  return { tps, latencyMs, failed, lockWaits };
}

/**
 * What pgbench wrote: its articles and their pending outbox rows. With the triggers on, the
 * links and counters go with the articles; with them off (as they were written), the cascade is
 * off too, so the links are deleted first and no counter moves.
 */
async function removeWrites(sql: postgres.Sql, triggers: boolean): Promise<void> {
  await sql.begin(async (tx) => {
    if (!triggers) await tx`set local session_replication_role = replica`;
    await tx`
      delete from job_outbox
      where name = 'notifications.article-published'
        and (payload ->> 'articleId')::int in (select id from articles where slug like 'pgbench-%')`;
    if (!triggers) {
      await tx`delete from article_tags where article_id in (select id from articles where slug like 'pgbench-%')`;
    }
    await tx`delete from articles where slug like 'pgbench-%'`;
  });
}
