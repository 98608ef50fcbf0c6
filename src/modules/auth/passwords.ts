import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import * as argon2 from 'argon2';
import pLimit from 'p-limit';

/**
 * argon2id with the OWASP Password Storage Cheat Sheet baseline (m = 19 MiB, t = 2, p = 1).
 * The native binding runs in libuv's thread pool, so hashing never blocks the event loop.
 */
const HASH_OPTIONS = {
  type: argon2.argon2id,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

/**
 * How many argon2 operations run at once. Each one keeps a CPU core busy for tens of ms in
 * libuv's thread pool (4 threads by default): with one hash per pool thread on a 2-core machine a
 * login storm leaves the event loop no core, and every other request waits. Capped at cores − 1,
 * a core always stays for the event loop and the pool keeps free threads for file and DNS work;
 * logins beyond the cap wait their turn. Set from PASSWORD_HASH_CONCURRENCY by server.ts.
 */
const withHashSlot = pLimit(Math.max(1, availableParallelism() - 1));

export function setPasswordHashConcurrency(slots: number): void {
  withHashSlot.concurrency = Math.max(1, slots);
}

/** Bounds enforced by the request schemas too; repeated here so no caller can hash a huge input. */
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 256;

export async function hashPassword(password: string): Promise<string> {
  if (password.length > PASSWORD_MAX_LENGTH) throw new RangeError('password too long');
  return withHashSlot(() => argon2.hash(password, HASH_OPTIONS));
}

/**
 * A real hash of a random password, computed once: logins for unknown accounts verify against it,
 * so they cost the same time as a wrong password for an existing account.
 */
let dummyHash: Promise<string> | undefined;
function getDummyHash(): Promise<string> {
  dummyHash ??= withHashSlot(() => argon2.hash(randomBytes(32).toString('base64url'), HASH_OPTIONS));
  return dummyHash;
}

/** Warms the dummy hash at start, so the first unknown-account login is not the slow one. */
export async function preparePasswordHashing(): Promise<void> {
  await getDummyHash();
}

/**
 * Checks a password against a stored hash, or against the dummy hash when there is no account
 * (`hash` undefined), always spending one argon2 verification. Never throws on a malformed hash.
 */
export async function verifyPassword(hash: string | undefined, password: string): Promise<boolean> {
  if (password.length > PASSWORD_MAX_LENGTH) return false;
  const target = hash ?? (await getDummyHash());
  let matches: boolean;
  try {
    matches = await withHashSlot(() => argon2.verify(target, password));
  } catch {
    // A hash that is not argon2 (e.g. a seeded placeholder): still spend the time, then refuse.
    const dummy = await getDummyHash();
    await withHashSlot(() => argon2.verify(dummy, password)).catch(() => false);
    matches = false;
  }
  return hash !== undefined && matches;
}

/** True when a stored hash was made with weaker parameters than today's (rehash on next login). */
export function passwordNeedsRehash(hash: string): boolean {
  try {
    return argon2.needsRehash(hash, HASH_OPTIONS);
  } catch {
    return true;
  }
}
