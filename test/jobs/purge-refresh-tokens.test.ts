import { randomBytes, randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refreshTokens } from '../../src/db/schema.js';
import { recordJob } from '../../src/jobs/outbox.js';
import { recurringJobs } from '../../src/jobs-registry.js';
import { purgeRefreshTokensJobType } from '../../src/modules/auth/jobs.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { insertUser } from '../support/users.js';
import { settledRow } from './support.js';

const DAY = 24 * 3600_000;

describe('maintenance.purge-refresh-tokens', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  it('is scheduled daily with a 7-day retention', () => {
    const job = recurringJobs.find((j) => j.type.name === 'maintenance.purge-refresh-tokens');
    expect(job?.payload).toEqual({ retentionDays: 7 });
    expect(job?.everyMs(t.config)).toBe(DAY);
  });

  it('deletes tokens expired or revoked longer ago than the retention, and keeps the rest', async () => {
    const user = await insertUser(t);
    const ago = (days: number) => new Date(Date.now() - days * DAY);
    const token = (label: string, fields: Partial<typeof refreshTokens.$inferInsert>) => ({
      label,
      row: {
        userId: user.id,
        familyId: randomUUID(),
        tokenHash: randomBytes(16).toString('hex'),
        expiresAt: ago(-20),
        ...fields,
      },
    });
    const tokens = [
      token('expired long ago', { expiresAt: ago(10) }),
      token('revoked long ago', { revokedAt: ago(8) }),
      token('expired recently', { expiresAt: ago(1) }),
      token('revoked recently', { revokedAt: ago(2) }),
      // Reuse detection needs rotated tokens until they expire.
      token('rotated long ago, still valid', { rotatedAt: ago(15) }),
      token('live', {}),
    ];
    const ids = new Map<number, string>();
    for (const { label, row } of tokens) {
      const [inserted] = await t.deps.database.db.insert(refreshTokens).values(row).returning();
      if (inserted) ids.set(inserted.id, label);
    }

    const jobId = await t.deps.database.db.transaction((tx) =>
      recordJob(tx, purgeRefreshTokensJobType, { retentionDays: 7 }),
    );
    await t.deps.jobs.flush([jobId]);
    expect((await settledRow(t, jobId)).status).toBe('done');

    const left = await t.deps.database.db
      .select({ id: refreshTokens.id })
      .from(refreshTokens)
      .where(eq(refreshTokens.userId, user.id));
    expect(left.map(({ id }) => ids.get(id)).sort()).toEqual([
      'expired recently',
      'live',
      'revoked recently',
      'rotated long ago, still valid',
    ]);
  });
});
