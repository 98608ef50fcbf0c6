/**
 * How one environment variable becomes a typed value: each reader trims, treats empty as unset,
 * checks the value and names the variable in the ConfigError it throws. src/config.ts composes
 * them into the Config; nothing else reads the environment.
 */

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export type Env = Record<string, string | undefined>;

export function read(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === '' ? undefined : value;
}

export function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max)
    throw new ConfigError(`${name} must be between ${min} and ${max}, got ${raw}`);
  return value;
}

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Seconds, as a bare number ("900") or with a unit ("15m", "30d"). */
export function duration(env: Env, name: string, fallbackSeconds: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallbackSeconds;
  const match = /^(\d+)([smhd]?)$/.exec(raw);
  if (!match) throw new ConfigError(`${name} must be a duration like 900, 15m, 12h or 30d, got "${raw}"`);
  const seconds = Number(match[1]) * (DURATION_UNITS[match[2] || 's'] ?? 1);
  if (seconds < 1) throw new ConfigError(`${name} must be at least 1 second`);
  return seconds;
}

export function url(env: Env, name: string, protocols: readonly string[]): string | undefined {
  const raw = read(env, name);
  if (raw === undefined) return undefined;
  const expected = protocols.map((protocol) => `${protocol}//`).join(' or ');
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`${name} is not a valid URL (expected ${expected}…)`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(`${name} must start with ${expected}, got ${parsed.protocol}//`);
  }
  if (!parsed.hostname) throw new ConfigError(`${name} has no host`);
  return raw;
}

export function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

export function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = read(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

export function email(env: Env, name: string): string | undefined {
  const raw = read(env, name);
  if (raw === undefined) return undefined;
  if (!/^[^\s@]+@[^\s@]+$/.test(raw)) throw new ConfigError(`${name} is not an email address`);
  return raw.toLowerCase();
}

/** CORS_ORIGINS: `*` (or unset outside production) reflects any origin; else a list of exact origins. */
export function corsOrigins(env: Env, production: boolean): true | readonly string[] {
  const raw = read(env, 'CORS_ORIGINS');
  if (raw === undefined) return production ? [] : true;
  if (raw === '*') return true;
  const origins = raw
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  for (const origin of origins) {
    try {
      const parsed = new URL(origin);
      if (parsed.origin !== origin) throw new Error('not an origin');
    } catch {
      throw new ConfigError(
        `CORS_ORIGINS must be a comma-separated list of origins like https://app.example.com, got "${origin}"`,
      );
    }
  }
  return Object.freeze(origins);
}

/** A route pattern: starts with `/`, holds `:param` exactly once (or none when `param` is null). */
export function routePattern(env: Env, name: string, fallback: string, param: string | null): string {
  const value = read(env, name) ?? fallback;
  const params = value.match(/:[A-Za-z_]+/g) ?? [];
  const expected = param === null ? 'no :parameter' : `:${param} exactly once`;
  if (
    !value.startsWith('/') ||
    /[\s?]/.test(value) ||
    params.length !== (param === null ? 0 : 1) ||
    (param !== null && params[0] !== `:${param}`)
  ) {
    throw new ConfigError(
      `${name} must be a path starting with / with ${expected} (like ${fallback}), got "${value}"`,
    );
  }
  return value;
}
