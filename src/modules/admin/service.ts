import { createHash } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { users } from '../../db/schema.js';
import type { Viewer } from '../../plugins/auth.js';

export async function findViewer(db: Database, id: number): Promise<Viewer | null> {
  const [user] = await db
    .select({ id: users.id, username: users.username, role: users.role })
    .from(users)
    .where(eq(users.id, id));
  return user ?? null;
}

const SIGN_IN_TTL_MS = 10 * 60_000;
const MAX_SIGN_INS = 100;

/**
 * Remembers which Basic credentials were verified, for a few minutes. A browser resends them
 * with every request of the dashboard (assets, polling every few seconds): without this, each
 * would cost an argon2 verification and count against the login rate limit. Only a hash of the
 * header is kept, and only for successful sign-ins; the user's role is re-read on every request.
 */
export class BasicSignIns {
  private readonly entries = new Map<string, { userId: number; expiresAt: number }>();

  private static key(header: string): string {
    return createHash('sha256').update(header).digest('hex');
  }

  userIdFor(header: string, now = Date.now()): number | undefined {
    const key = BasicSignIns.key(header);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.userId;
  }

  remember(header: string, userId: number, now = Date.now()): void {
    if (this.entries.size >= MAX_SIGN_INS) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(BasicSignIns.key(header), { userId, expiresAt: now + SIGN_IN_TTL_MS });
  }
}
