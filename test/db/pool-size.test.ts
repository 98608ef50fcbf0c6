import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/client.js';
import { testDatabaseKind } from '../support/app.js';

describe.runIf(testDatabaseKind === 'postgres')('DATABASE_POOL_SIZE', () => {
  const url = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const observer = postgres(url, { max: 1, onnotice: () => {} });
  afterAll(() => observer.end());

  it('bounds the connections a process opens: more statements than connections wait their turn', async () => {
    const config = loadConfig({
      DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'conduit-pool-')),
      DATABASE_URL: url,
      DATABASE_POOL_SIZE: '2',
    });
    const applicationName = `conduit-pool-${randomBytes(4).toString('hex')}`;
    const database = await openDatabase({ ...config, applicationName });
    try {
      let most = 0;
      let running = true;
      const watching = (async () => {
        while (running) {
          const [row] = await observer<{ n: number }[]>`
            select count(*)::int as n from pg_stat_activity where application_name = ${applicationName}`;
          most = Math.max(most, row?.n ?? 0);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })();
      const started = Date.now();
      await Promise.all(Array.from({ length: 6 }, () => database.db.execute(sql`select pg_sleep(0.2)`)));
      const elapsed = Date.now() - started;
      running = false;
      await watching;
      expect(most).toBe(2);
      // Six statements of 0.2 s on two connections: three rounds, not one.
      expect(elapsed).toBeGreaterThanOrEqual(550);
    } finally {
      await database.close();
    }
  });
});
