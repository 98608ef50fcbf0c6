import { and, eq, ne, or } from 'drizzle-orm';
import type { Database, Transaction } from '../../db/client.js';
import { users } from '../../db/schema.js';
import { type FieldErrors, NotFoundError, ValidationError } from '../../errors.js';
import { lowerEmail, lowerUsername, normalizeEmail } from '../auth/credentials.js';
import { hashPassword } from '../auth/passwords.js';
import { revokeAllRefreshTokens } from '../auth/refresh-tokens.js';
import { nextTokenVersion } from '../auth/sessions.js';

/** A user as services and routes see it: never the password hash. */
export interface UserRecord {
  id: number;
  email: string;
  username: string;
  bio: string | null;
  image: string | null;
  role: 'user' | 'admin';
  emailVerifiedAt: Date | null;
  /** Signed into every token issued for the user (auth/sessions.ts). */
  tokenVersion: number;
}

const userColumns = {
  id: users.id,
  email: users.email,
  username: users.username,
  bio: users.bio,
  image: users.image,
  role: users.role,
  emailVerifiedAt: users.emailVerifiedAt,
  tokenVersion: users.tokenVersion,
};

const TAKEN = 'has already been taken';

/** 422 naming every field that another user already holds (email and username ignore case). */
async function assertAvailable(
  db: Database | Transaction,
  fields: { email?: string; username?: string },
  exceptUserId?: number,
): Promise<void> {
  const conditions = [];
  if (fields.email !== undefined) conditions.push(eq(lowerEmail, fields.email));
  if (fields.username !== undefined) conditions.push(eq(lowerUsername, fields.username.toLowerCase()));
  if (conditions.length === 0) return;
  const clash = or(...conditions);
  const rows = await db
    .select({ email: users.email, username: users.username })
    .from(users)
    .where(exceptUserId === undefined ? clash : and(clash, ne(users.id, exceptUserId)))
    .limit(2);
  const errors: FieldErrors = {};
  for (const row of rows) {
    if (fields.email !== undefined && row.email.toLowerCase() === fields.email) errors.email = [TAKEN];
    if (fields.username !== undefined && row.username.toLowerCase() === fields.username.toLowerCase())
      errors.username = [TAKEN];
  }
  if (Object.keys(errors).length > 0) throw new ValidationError(errors);
}

/** Two concurrent writes can both pass assertAvailable; the unique indexes catch the loser. */
function duplicateField(error: unknown): 'email' | 'username' | undefined {
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 5; depth++) {
    const fields = current as Error & { code?: string; constraint?: string; constraint_name?: string };
    if (fields.code === '23505') {
      const constraint = `${fields.constraint_name ?? fields.constraint ?? ''} ${fields.message}`;
      if (constraint.includes('users_email_lower_key')) return 'email';
      if (constraint.includes('users_username_lower_key')) return 'username';
    }
    current = current.cause;
  }
  return undefined;
}

async function translatingDuplicates<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    const field = duplicateField(error);
    if (field) throw new ValidationError({ [field]: [TAKEN] });
    throw error;
  }
}

export interface NewUser {
  username: string;
  email: string;
  password: string;
}

export interface RegisterOptions {
  /**
   * Runs inside the registration transaction, after the user row is written: the place for rows
   * that must exist exactly when the user does (e.g. the verification email's log row).
   */
  inTransaction?: (tx: Transaction, user: UserRecord) => Promise<void>;
}

export async function registerUser(
  db: Database,
  input: NewUser,
  options: RegisterOptions = {},
): Promise<UserRecord> {
  const email = normalizeEmail(input.email);
  await assertAvailable(db, { email, username: input.username });
  // Hash before the transaction opens: a connection is not held for the argon2 time.
  const passwordHash = await hashPassword(input.password);
  return translatingDuplicates(() =>
    db.transaction(async (tx) => {
      const [user] = await tx
        .insert(users)
        .values({ email, username: input.username, passwordHash })
        .returning(userColumns);
      if (!user) throw new Error('insert returned no row');
      await options.inTransaction?.(tx, user);
      return user;
    }),
  );
}

export async function getUser(db: Database, id: number): Promise<UserRecord> {
  const [user] = await db.select(userColumns).from(users).where(eq(users.id, id));
  if (!user) throw new NotFoundError('User');
  return user;
}

export interface UserChanges {
  email?: string;
  username?: string;
  password?: string;
  bio?: string | null;
  image?: string | null;
}

export interface UpdateOptions {
  /** Runs inside the update transaction when the email changed (e.g. to queue a verification email). */
  onEmailChanged?: (tx: Transaction, user: UserRecord) => Promise<void>;
}

/** Applies the changes a user may make to their own account. */
export async function updateUser(
  db: Database,
  id: number,
  changes: UserChanges,
  options: UpdateOptions = {},
): Promise<UserRecord> {
  const current = await getUser(db, id);
  const email = changes.email === undefined ? undefined : normalizeEmail(changes.email);
  const emailChanged = email !== undefined && email !== current.email;
  await assertAvailable(
    db,
    {
      ...(emailChanged ? { email } : {}),
      ...(changes.username !== undefined ? { username: changes.username } : {}),
    },
    id,
  );
  const passwordHash = changes.password === undefined ? undefined : await hashPassword(changes.password);
  return translatingDuplicates(() =>
    db.transaction(async (tx) => {
      const [user] = await tx
        .update(users)
        .set({
          ...(emailChanged ? { email, emailVerifiedAt: null } : {}),
          ...(changes.username !== undefined ? { username: changes.username } : {}),
          // The RealWorld front end sends "" for an emptied field: store it as absent.
          ...(changes.bio !== undefined ? { bio: changes.bio || null } : {}),
          ...(changes.image !== undefined ? { image: changes.image || null } : {}),
          ...(passwordHash !== undefined ? { passwordHash, tokenVersion: nextTokenVersion } : {}),
          updatedAt: new Date(),
        })
        .where(eq(users.id, id))
        .returning(userColumns);
      if (!user) throw new NotFoundError('User');
      // A new password ends every session: whoever knew the old one loses every token issued so far
      // (the returned row has the new version, so the caller answers with a fresh token).
      if (passwordHash !== undefined) await revokeAllRefreshTokens(tx, id);
      if (emailChanged) await options.onEmailChanged?.(tx, user);
      return user;
    }),
  );
}

/** Usernames derived from an email's local part: pattern-safe, and a suffix when taken. */
async function freeUsername(db: Database, email: string): Promise<string> {
  const base = (email.split('@')[0] ?? '').replace(/[^A-Za-z0-9_-]/g, '').slice(0, 24) || 'admin';
  const stem = base.length >= 3 ? base : `${base}admin`;
  for (let attempt = 0; attempt < 20; attempt++) {
    const candidate = attempt === 0 ? stem : `${stem}-${attempt}`;
    const [taken] = await db
      .select({ id: users.id })
      .from(users)
      .where(eq(lowerUsername, candidate.toLowerCase()));
    if (!taken) return candidate;
  }
  throw new Error('could not find a free username for the admin account');
}

/**
 * Makes sure the configured admin exists (like the FastAPI template's first superuser): creates
 * it, or promotes an existing account with that email. An existing account keeps its password, so
 * a password the admin changed later is not reset by a restart. Idempotent.
 */
export async function ensureAdminAccount(
  db: Database,
  admin: { email: string; password: string },
): Promise<'created' | 'promoted' | 'unchanged'> {
  const email = normalizeEmail(admin.email);
  const [existing] = await db
    .select({ id: users.id, role: users.role })
    .from(users)
    .where(eq(lowerEmail, email));
  if (existing) {
    if (existing.role === 'admin') return 'unchanged';
    await db.update(users).set({ role: 'admin', updatedAt: new Date() }).where(eq(users.id, existing.id));
    return 'promoted';
  }
  const passwordHash = await hashPassword(admin.password);
  const username = await freeUsername(db, email);
  // The operator chose this address, so it counts as verified. A concurrent start may win the race.
  const inserted = await db
    .insert(users)
    .values({ email, username, passwordHash, role: 'admin', emailVerifiedAt: new Date() })
    .onConflictDoNothing()
    .returning({ id: users.id });
  return inserted.length > 0 ? 'created' : 'unchanged';
}
