import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

const strongSecret = 'x'.repeat(48);
const dataDir = () => mkdtempSync(path.join(tmpdir(), 'conduit-config-'));

describe('config', () => {
  it('has working defaults for the embedded mode', () => {
    const config = loadConfig({ DATA_DIR: dataDir() });
    expect(config.port).toBe(3000);
    expect(config.nodeEnv).toBe('development');
    expect(config.databaseUrl).toBeUndefined();
    expect(config.redisUrl).toBeUndefined();
    expect(config.cacheTtlSeconds).toBe(60);
    expect(config.accessTokenTtlSeconds).toBe(900);
    expect(config.corsOrigins).toBe(true);
    expect(config.appUrl).toBe('http://127.0.0.1:3000');
    expect(Object.isFrozen(config)).toBe(true);
  });

  it.each([
    [{ PORT: 'abc' }, /^PORT must be a whole number/],
    [{ PORT: '70000' }, /^PORT must be between 0 and 65535/],
    [{ DATABASE_URL: 'not a url' }, /^DATABASE_URL is not a valid URL/],
    [{ DATABASE_URL: 'mysql://localhost/db' }, /^DATABASE_URL must start with postgres:/],
    [{ REDIS_URL: 'http://localhost' }, /^REDIS_URL must start with redis:/],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL must be one of/],
    [{ ACCESS_TOKEN_TTL: '15 minutes' }, /^ACCESS_TOKEN_TTL must be a duration/],
    [{ SESSION_TOKEN_TTL: 'a week' }, /^SESSION_TOKEN_TTL must be a duration/],
    [{ ADMIN_EMAIL: 'admin@example.com' }, /^ADMIN_EMAIL and ADMIN_PASSWORD must be set together/],
    [{ CORS_ORIGINS: 'example.com' }, /^CORS_ORIGINS must be a comma-separated list of origins/],
    [{ DATABASE_POOLER: 'session' }, /^DATABASE_POOLER must be one of none, transaction/],
    [
      { DATABASE_URL: 'postgres://pgbouncer:6432/conduit', DATABASE_POOLER: 'transaction' },
      /^DATABASE_POOLER=transaction needs DATABASE_MIGRATION_URL/,
    ],
    [{ DATABASE_CONNECT_TIMEOUT_MS: '5s' }, /^DATABASE_CONNECT_TIMEOUT_MS must be a whole number/],
  ])('refuses %o with one clear message naming the variable', (env, message) => {
    expect(() => loadConfig({ DATA_DIR: dataDir(), ...env })).toThrow(ConfigError);
    expect(() => loadConfig({ DATA_DIR: dataDir(), ...env })).toThrow(message);
  });

  it('parses durations with units', () => {
    const config = loadConfig({ DATA_DIR: dataDir(), ACCESS_TOKEN_TTL: '5m', REFRESH_TOKEN_TTL: '7d' });
    expect(config.accessTokenTtlSeconds).toBe(300);
    expect(config.refreshTokenTtlSeconds).toBe(7 * 86400);
  });

  it('gives the RealWorld session token 7 days and OAuth2 access tokens 15 minutes by default', () => {
    const defaults = loadConfig({ DATA_DIR: dataDir() });
    expect(defaults.sessionTokenTtlSeconds).toBe(7 * 86400);
    expect(defaults.accessTokenTtlSeconds).toBe(15 * 60);
    expect(loadConfig({ DATA_DIR: dataDir(), SESSION_TOKEN_TTL: '30d' }).sessionTokenTtlSeconds).toBe(
      30 * 86400,
    );
  });

  it('refuses to start in production without a strong JWT_SECRET', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', DATA_DIR: dataDir() })).toThrow(
      /JWT_SECRET is required/,
    );
    expect(() =>
      loadConfig({ NODE_ENV: 'production', DATA_DIR: dataDir(), JWT_SECRET: 'changethis' }),
    ).toThrow(/JWT_SECRET is too weak/);
    const config = loadConfig({ NODE_ENV: 'production', DATA_DIR: dataDir(), JWT_SECRET: strongSecret });
    expect(config.jwtSecret).toBe(strongSecret);
    expect(config.corsOrigins).toEqual([]);
  });

  it('generates a development secret once and keeps it under DATA_DIR', () => {
    const dir = dataDir();
    const first = loadConfig({ DATA_DIR: dir });
    const second = loadConfig({ DATA_DIR: dir });
    expect(first.jwtSecret.length).toBeGreaterThanOrEqual(48);
    expect(second.jwtSecret).toBe(first.jwtSecret);
    const file = path.join(dir, 'jwt-secret');
    expect(existsSync(file)).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe(first.jwtSecret);
    expect(statSync(file).mode & 0o077).toBe(0);
  });

  it('splits CORS_ORIGINS into an allow-list', () => {
    const config = loadConfig({
      DATA_DIR: dataDir(),
      CORS_ORIGINS: 'https://a.example, http://localhost:4200',
    });
    expect(config.corsOrigins).toEqual(['https://a.example', 'http://localhost:4200']);
  });

  it('takes a transaction-mode pooler with a direct migration URL, or without migrating at start', () => {
    const pooled = 'postgres://pgbouncer:6432/conduit';
    const config = loadConfig({
      DATA_DIR: dataDir(),
      DATABASE_URL: pooled,
      DATABASE_POOLER: 'transaction',
      DATABASE_MIGRATION_URL: 'postgres://db:5432/conduit',
      DATABASE_STATEMENT_TIMEOUT_MS: '2500',
    });
    expect(config).toMatchObject({
      databasePooler: 'transaction',
      databaseMigrationUrl: 'postgres://db:5432/conduit',
      databaseConnectTimeoutMs: 5000,
      databaseStatementTimeoutMs: 2500,
    });
    const noMigration = loadConfig({
      DATA_DIR: dataDir(),
      DATABASE_URL: pooled,
      DATABASE_POOLER: 'transaction',
      MIGRATE_ON_START: 'false',
    });
    expect(noMigration.databaseMigrationUrl).toBeUndefined();
  });

  it('sizes the database pool from DATABASE_POOL_SIZE, 10 by default, and refuses a size out of range', () => {
    expect(loadConfig({ DATA_DIR: dataDir() }).poolSize).toBe(10);
    expect(loadConfig({ DATA_DIR: dataDir(), DATABASE_POOL_SIZE: '25' }).poolSize).toBe(25);
    for (const size of ['0', '1001', 'ten', '2.5']) {
      expect(() => loadConfig({ DATA_DIR: dataDir(), DATABASE_POOL_SIZE: size })).toThrow(
        /DATABASE_POOL_SIZE/,
      );
    }
  });
});
