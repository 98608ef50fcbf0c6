import { DrizzleQueryError } from 'drizzle-orm/errors';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../../src/db/errors.js';

/** A server error as node-postgres builds it from an ErrorResponse. */
function serverError(code: string, message: string): Error {
  return Object.assign(new pg.DatabaseError(message, 0, 'error'), { code });
}

describe('isDatabaseUnavailable', () => {
  it('recognises a refused connection as node-postgres reports it, wrapped by Drizzle', async () => {
    // Port 1 on loopback: nothing listens there.
    const client = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:1/postgres' });
    const refused = await client.connect().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isDatabaseUnavailable(refused)).toBe(true);
    expect(isDatabaseUnavailable(new DrizzleQueryError('select 1', [], refused as Error))).toBe(true);
  });

  it('recognises shutdown, connection, resource and timeout SQLSTATEs and lost connections', () => {
    for (const code of ['57P01', '57P02', '57P03', '08006', '08P01', '53300', '57014']) {
      expect(isDatabaseUnavailable(serverError(code, 'x')), code).toBe(true);
    }
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('PGlite is closed'))).toBe(true);
  });

  it('leaves errors of the request or the code alone: they stay 4xx/500', () => {
    for (const code of ['23505', '23503', '42P01', '42601', '40001', '22P02']) {
      expect(isDatabaseUnavailable(serverError(code, 'x')), code).toBe(false);
    }
    expect(isDatabaseUnavailable(new TypeError("Cannot read properties of null (reading 'write')"))).toBe(
      false,
    );
    expect(isDatabaseUnavailable('ECONNREFUSED')).toBe(false);
  });
});
