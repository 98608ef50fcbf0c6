/**
 * The cache port: a small key/value store with a TTL on every key, plus namespace versions for
 * invalidation. `ResponseCache` (response-cache.ts) adds everything else — timeouts, outage
 * handling, single-flight, counters — once, for both adapters.
 *
 * Adapters throw on trouble; the caller decides what a failure means (a miss, a bypass).
 */
export interface CacheStore {
  /** `redis` is shared by every API process; `memory` lives and dies with this process. */
  readonly kind: 'redis' | 'memory';
  /** Remote stores get a timeout on every call; a memory store answers synchronously. */
  readonly remote: boolean;
  get(key: string): Promise<string | undefined>;
  /** Stores `value` for `ttlSeconds` (always > 0: nothing is stored forever). */
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  /**
   * The current version token of each namespace. A namespace without one (never bumped, expired,
   * evicted) gets a fresh random token (kept `ttlSeconds`), never a default: a lost token must not
   * make entries built before it reachable again.
   */
  versions(namespaces: readonly string[], ttlSeconds: number): Promise<string[]>;
  /**
   * The same tokens without a round trip, when this process can vouch for them; undefined when it
   * must ask `versions`. A remote store may answer only while it hears every bump (redis-store.ts).
   */
  knownVersions?(namespaces: readonly string[]): string[] | undefined;
  /**
   * Gives each namespace a fresh, never reused version token (kept `ttlSeconds`). Keys built on
   * the old tokens become unreachable at once; they expire on their own TTL.
   */
  bump(namespaces: readonly string[], ttlSeconds: number): Promise<void>;
  /** How many bumps (this process's and others') this process has heard of, if it listens. */
  bumpsHeard?(): number;
  /** A trivial round trip: used to notice that the store is back after an outage. */
  ping(): Promise<void>;
  /** Optional hint that the store just (re)connected, so the cache resumes without waiting a probe. */
  onAvailable?(listener: () => void): void;
  close(): Promise<void>;
}
