import { setTimeout as sleep } from 'node:timers/promises';
import type postgres from 'postgres';

/**
 * Lock waits during a scenario: every SAMPLE_MS, from its own connection, the backends of the
 * bench database waiting for a heavyweight lock (`pg_locks` not granted). A row lock wait shows
 * as a wait on the holder's transaction id; its relation is the one of the tuple lock the waiter
 * holds meanwhile (the first waiter for a row has none: it is labelled with the start of the
 * statement that waits, e.g. an INSERT whose trigger updates a counter row).
 */

const SAMPLE_MS = 50;

export interface LockWaits {
  samples: number;
  /** Most backends waiting at one sample. */
  max: number;
  /** Waiting backends summed over all samples (backend-samples; × SAMPLE_MS ≈ time spent waiting). */
  total: number;
  /** Backend-samples per waited-on relation (or statement), most first. */
  byTarget: [string, number][];
  /**
   * What the database's other backends were doing, on average per sample: state and wait event
   * (e.g. "active IO:WALSync" = commits waiting for the WAL flush, "idle in transaction" = a
   * transaction waiting for its client), most first.
   */
  activity: [string, number][];
}

export interface LockSampler {
  stop(): Promise<LockWaits>;
}

export function sampleLockWaits(sql: postgres.Sql): LockSampler {
  let stopped = false;
  const result = { samples: 0, max: 0, total: 0 };
  const byTarget = new Map<string, number>();
  const activity = new Map<string, number>();
  const loop = (async () => {
    while (!stopped) {
      // A row lock wait is a wait for the holder's transaction id; the waiter already holds the
      // tuple lock of that row, which names the relation.
      const rows = await sql<{ locktype: string; relation: string | null; query: string }[]>`
        select w.locktype, coalesce(w.relation, t.relation)::regclass::text as relation,
               left(regexp_replace(a.query, '[[:space:]]+', ' ', 'g'), 70) as query
        from pg_locks w
        join pg_stat_activity a on a.pid = w.pid
        left join lateral (
          select relation from pg_locks t where t.pid = w.pid and t.locktype = 'tuple' and t.granted limit 1
        ) t on true
        where not w.granted and a.datname = current_database()`;
      const states = await sql<{ state: string; n: number }[]>`
        select concat_ws(' ', state, wait_event_type || ':' || wait_event) as state, count(*)::int as n
        from pg_stat_activity
        where datname = current_database() and pid <> pg_backend_pid() and state <> 'idle'
        group by 1`;
      for (const { state, n } of states) activity.set(state, (activity.get(state) ?? 0) + n);
      result.samples += 1;
      result.max = Math.max(result.max, rows.length);
      result.total += rows.length;
      for (const row of rows) {
        const target = row.relation
          ? `${row.relation} (${row.locktype === 'transactionid' ? 'row' : row.locktype})`
          : `${row.locktype}: ${row.query}`;
        byTarget.set(target, (byTarget.get(target) ?? 0) + 1);
      }
      await sleep(SAMPLE_MS);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return {
        ...result,
        byTarget: [...byTarget].sort((a, b) => b[1] - a[1]),
        activity: [...activity]
          .map(([state, n]): [string, number] => [state, n / (result.samples || 1)])
          .sort((a, b) => b[1] - a[1]),
      };
    },
  };
}

export function describeLockWaits(waits: LockWaits): string {
  const top = waits.byTarget
    .slice(0, 3)
    .map(([target, n]) => `${target} ×${n}`)
    .join('; ');
  return `max ${waits.max}, total ${waits.total} over ${waits.samples} samples${top ? ` — ${top}` : ''}`;
}

/** The busiest backend states, as mean backends per sample. */
export function describeActivity(waits: LockWaits): string {
  return waits.activity
    .slice(0, 5)
    .map(([state, n]) => `${state} ${n.toFixed(1)}`)
    .join(', ');
}
