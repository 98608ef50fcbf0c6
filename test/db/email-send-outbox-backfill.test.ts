import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationsFolder } from '../../src/db/migrate.js';
import { migrationsUpTo, openEmptyDatabase, removeMigrationsCopy, type Scratch } from './support.js';

/**
 * A database from before email sends were recorded in the job outbox: its emails still `queued` or
 * `sending` have no outbox row. The migration that records them (0007) gives each one, so the
 * outbox sweep sends them; sent and failed emails get none.
 */

let scratch: Scratch;
let oldFolder: string;

beforeAll(async () => {
  scratch = await openEmptyDatabase();
  oldFolder = migrationsUpTo('0006_token_version');
  await scratch.migrate(oldFolder);
  await scratch.execute(sql`insert into email_log (recipient, template, subject, dedupe_key, payload, status)
    select 'r' || g || '@example.com', 'new-follower', 's', 'k' || g, '{}'::jsonb,
      (array['queued', 'sending', 'sent', 'failed'])[g]::email_status
    from generate_series(1, 4) g`);
}, 60_000);

afterAll(async () => {
  await scratch?.close();
  removeMigrationsCopy(oldFolder);
});

describe('the email send outbox migration', () => {
  it('records an email.send job for every email queued or being sent, keyed as the code keys it', async () => {
    await scratch.migrate(migrationsFolder);
    const emails = await scratch.execute(sql`select id, status from email_log order by id`);
    const byStatus = new Map(emails.map((row) => [row.status, row.id]));
    const jobs = await scratch.execute(
      sql`select name, payload, dedupe_key, status from job_outbox order by (payload->>'emailId')::int`,
    );
    expect(jobs).toEqual(
      ['queued', 'sending'].map((status) => ({
        name: 'email.send',
        payload: { emailId: byStatus.get(status) },
        dedupe_key: `email.send:${byStatus.get(status)}`,
        status: 'pending',
      })),
    );
  });
});
