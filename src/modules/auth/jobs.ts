import { inArray, lt, or, sql } from 'drizzle-orm';
import { Type } from 'typebox';
import { refreshTokens } from '../../db/schema.js';
import { defineJob, jobType, recurring } from '../../jobs/definition.js';

/** Deletes refresh tokens that expired or were revoked/rotated more than `retentionDays` ago. */
export const purgeRefreshTokensJobType = jobType(
  'maintenance.purge-refresh-tokens',
  Type.Object(
    { retentionDays: Type.Integer({ minimum: 0, maximum: 3650 }) },
    { additionalProperties: false },
  ),
);

/** Small batches keep each DELETE short, so token refreshes never wait on this job. */
const BATCH = 5000;
/** Refresh tokens are kept this long after they expire or are revoked (audits, support). */
const REFRESH_TOKEN_RETENTION_DAYS = 7;

/**
 * Deletes refresh tokens that expired, or were revoked, more than `retentionDays` ago. Rotated
 * tokens stay until they expire: presenting one again is how reuse (theft) is detected.
 * Idempotent by nature: a second run finds nothing more to delete.
 */
export const purgeRefreshTokensJob = defineJob(purgeRefreshTokensJobType, {
  async handle({ retentionDays }, { db, log }) {
    const cutoff = sql`now() - make_interval(days => ${retentionDays})`;
    let deleted = 0;
    for (;;) {
      const batch = db
        .select({ id: refreshTokens.id })
        .from(refreshTokens)
        .where(or(lt(refreshTokens.expiresAt, cutoff), lt(refreshTokens.revokedAt, cutoff)))
        .limit(BATCH);
      const rows = await db
        .delete(refreshTokens)
        .where(inArray(refreshTokens.id, batch))
        .returning({ id: refreshTokens.id });
      deleted += rows.length;
      if (rows.length < BATCH) break;
    }
    log.info({ deleted, retentionDays }, 'purged refresh tokens');
  },
});

export const purgeRefreshTokensSchedule = recurring({
  id: 'purge-refresh-tokens',
  type: purgeRefreshTokensJobType,
  payload: { retentionDays: REFRESH_TOKEN_RETENTION_DAYS },
  everyMs: () => 24 * 3600_000,
});
