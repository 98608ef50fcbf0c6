/**
 * The response cache's core: versioned keys, the bypass/probe/replay state machine and the bodies
 * kept per variant. One file (about 400 lines) because these share one state — the current
 * versions, the bypass flag and the pending invalidations — that must change together; the stores
 * (port.ts), the HTTP side (http.ts) and construction (create.ts) live apart.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { CacheStore } from './port.js';

export type CacheOutcome = 'HIT' | 'MISS' | 'BYPASS';

/**
 * A response body made from an entry for one kind of viewer, and the ETag of those bytes. Bytes,
 * not a string: a string would be measured and UTF-8 encoded again on every send.
 */
export interface DerivedBody {
  body: Buffer;
  etag: string;
}

/**
 * Who a response is made for, beyond the shared entry: `anonymous`, or one signed-in viewer with
 * the namespaces that viewer's personalisation depends on (their favorites and follows).
 */
export interface CacheVariant {
  name: string;
  namespaces?: readonly string[];
}

export type CachedBody =
  | { outcome: 'BYPASS'; body: string; derived?: undefined; derivedKey?: undefined }
  /** The shared entry; `derivedKey` is where the variant's response made from it may be kept. */
  | { outcome: 'HIT' | 'MISS'; body: string; derived?: undefined; derivedKey: string }
  /** The variant's response was already made from the current entry in this process. */
  | { outcome: 'HIT'; body?: undefined; derived: DerivedBody; derivedKey: string };

/** Bytes of derived bodies (see `rememberDerived`) one process keeps. */
const DERIVED_MAX_BYTES = 16 * 1024 * 1024;

/** pino's signature, so `app.log.child(…)` or a worker's logger fits without an adapter. */
export interface CacheLog {
  warn(details: Record<string, unknown>, message: string): void;
  info(details: Record<string, unknown>, message: string): void;
}

export interface ResponseCacheOptions {
  ttlSeconds: number;
  /** Upper bound of every call to a remote store; past it the request goes to the database. */
  timeoutMs: number;
  /** How often an unavailable store is asked whether it is back. */
  probeIntervalMs?: number;
  /** Failed invalidations remembered for replay; beyond this everything is invalidated at once. */
  maxPendingInvalidations?: number;
  /**
   * Every read computes (outcome BYPASS) and the store is never asked: CACHE_ENABLED=false, for
   * measuring the uncached path (`npm run bench`) or ruling the cache out while debugging.
   */
  disabled?: boolean;
}

export interface CacheHealth extends Record<string, unknown> {
  backend: 'redis' | 'memory';
  /** `bypass`: requests are answered from the database until the store answers again. */
  state: 'up' | 'bypass';
  since?: string;
  lastError?: string;
  pendingInvalidations: number;
}

export interface CacheStats {
  hits: number;
  misses: number;
  bypasses: number;
  errors: number;
  invalidations: number;
  /** Invalidations heard on the bump channel (every instance's, this one's included). */
  bumpsHeard: number;
}

/** Part of every entry's key: bumping it makes the whole cache unreachable in one command. */
const EVERYTHING = '*';

/**
 * `operation`, or a rejection once `ms` have passed without an answer. Timers run before I/O in an
 * event-loop turn: after a stall (GC, CPU-bound work) a timeout would win over an answer already
 * waiting on the socket, so the timeout fires from setImmediate, which lets that answer in.
 * Not p-timeout: it builds its error, stack trace included, on every call, and every cache hit
 * makes such a call; here the error is built only when the timer fires.
 */
function withinMs<T>(operation: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => setImmediate(() => reject(new Error(`no answer within ${ms} ms`))), ms);
  });
  return Promise.race([operation, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Versioned-namespace response cache on top of a CacheStore.
 *
 * An entry's key embeds the current version token of every namespace it depends on, so a write
 * invalidates with one SET per namespace (no KEYS/SCAN), and readers that started before it can
 * only ever store into keys nobody reads any more.
 *
 * Store trouble never reaches a request: every call is bounded by `timeoutMs`; the first failure
 * switches to `bypass` (requests go to the database without touching the store) and a background
 * probe switches back when the store answers. Invalidations that could not be written meanwhile are
 * replayed before the cache is used again, so entries they should have killed are never served by
 * this instance (see docs/CACHING.md for the window left to other instances).
 */
export class ResponseCache {
  private state: 'up' | 'bypass' = 'bypass';
  private since = new Date();
  private lastError: string | undefined = 'not connected yet';
  /** The first connect is not an outage: nothing to warn about or to announce as recovered. */
  private everUp = false;
  private readonly pending = new Set<string>();
  private pendingOverflow = false;
  private readonly inFlight = new Map<string, Promise<string>>();
  private readonly counters: Omit<CacheStats, 'bumpsHeard'> = {
    hits: 0,
    misses: 0,
    bypasses: 0,
    errors: 0,
    invalidations: 0,
  };
  private probeTimer: NodeJS.Timeout | undefined;
  private probing: Promise<void> | undefined;
  private log: CacheLog | undefined;
  private closed = false;
  private readonly ttlSeconds: number;
  /** Longer than entries live, so a namespace read often keeps its token (and its entries). */
  private readonly versionTtlSeconds: number;
  private readonly timeoutMs: number;
  private readonly probeIntervalMs: number;
  private readonly maxPending: number;
  private readonly disabled: boolean;
  private readonly derivedBodies: LRUCache<string, DerivedBody>;

  constructor(
    private readonly store: CacheStore,
    options: ResponseCacheOptions,
  ) {
    this.ttlSeconds = options.ttlSeconds;
    this.versionTtlSeconds = options.ttlSeconds * 2 + 60;
    this.timeoutMs = options.timeoutMs;
    this.probeIntervalMs = options.probeIntervalMs ?? 200;
    this.maxPending = options.maxPendingInvalidations ?? 1000;
    this.disabled = options.disabled ?? false;
    this.derivedBodies = new LRUCache<string, DerivedBody>({
      maxSize: DERIVED_MAX_BYTES,
      sizeCalculation: ({ body }, key) => body.length + key.length,
      ttl: options.ttlSeconds * 1000,
    });
    this.store.onAvailable?.(() => void this.probe());
    this.startProbing();
  }

  /**
   * Whether `fetch` would read and store now. When not (CACHE_ENABLED=false, store down), a caller
   * can compute its payload and use it as is instead of going through a JSON string; it must then
   * call `countBypass()`.
   */
  get usable(): boolean {
    return this.state === 'up' && !this.disabled;
  }

  countBypass(): void {
    this.counters.bypasses++;
  }

  get backend(): 'redis' | 'memory' {
    return this.store.kind;
  }

  attachLogger(log: CacheLog): void {
    this.log = log;
  }

  /** Resolves once the store answers (true), or after `waitMs` without an answer (false). */
  async whenUp(waitMs: number): Promise<boolean> {
    const deadline = Date.now() + waitMs;
    const up = () => this.state === 'up';
    while (!up() && Date.now() < deadline && !this.closed) {
      await this.probe();
      if (!up()) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return up();
  }

  /**
   * The cached body for `key`, built from the current versions of `namespaces`, or `compute()`'s
   * result (stored with the TTL). Concurrent misses of one entry in this process share one compute.
   *
   * With a `variant`, a response this process already made from the current entry for that variant
   * (see `rememberDerived`) comes back as `derived` instead, without reading the entry. When the
   * versions are known here too (`knownVersions`), such a HIT makes no round trip at all.
   */
  async fetch(
    key: string,
    namespaces: readonly string[],
    compute: () => Promise<string>,
    variant?: CacheVariant,
  ): Promise<CachedBody> {
    if (!this.usable) return this.bypass(compute);
    const wanted = [EVERYTHING, ...namespaces, ...(variant?.namespaces ?? [])];
    let entry: string;
    let derivedKey: string;
    let cached: string | undefined;
    try {
      const versions =
        this.store.knownVersions?.(wanted) ??
        (await this.bounded(this.store.versions(wanted, this.versionTtlSeconds)));
      const shared = namespaces.length + 1;
      const entryVersions = versions.slice(0, shared);
      // The request key itself, not the entry's hash: a kept body is found without hashing.
      derivedKey = `${variant?.name ?? ''}|${versions.slice(shared).join(',')}|${entryVersions.join(',')}|${key}`;
      const derived = variant ? this.derivedBodies.get(derivedKey) : undefined;
      if (derived) {
        this.counters.hits++;
        return { outcome: 'HIT', derived, derivedKey };
      }
      entry = entryKey(key, entryVersions);
      cached = await this.bounded(this.store.get(entry));
    } catch (error) {
      this.fail(error);
      return this.bypass(compute);
    }
    if (cached !== undefined) {
      this.counters.hits++;
      return { body: cached, outcome: 'HIT', derivedKey };
    }
    this.counters.misses++;
    let shared = this.inFlight.get(entry);
    if (!shared) {
      shared = this.computeAndStore(entry, compute).finally(() => this.inFlight.delete(entry));
      this.inFlight.set(entry, shared);
    }
    return { body: await shared, outcome: 'MISS', derivedKey };
  }

  /**
   * Makes every entry depending on one of `namespaces` unreachable, in every process sharing the
   * store. Call it after the write's transaction commits and before answering. Never throws.
   */
  async invalidate(namespaces: readonly string[]): Promise<void> {
    const unique = [...new Set(namespaces)];
    if (!unique.length) return;
    this.counters.invalidations++;
    if (this.state !== 'up') {
      this.remember(unique);
      return;
    }
    try {
      await this.bounded(this.store.bump(unique, this.versionTtlSeconds));
    } catch (error) {
      this.remember(unique);
      this.fail(error);
    }
  }

  /**
   * Keeps what was made from an entry for one variant (the serialized response and its ETag) in
   * this process, under the `derivedKey` `fetch` returned. That key holds the versions of the
   * entry and of the variant's namespaces, so an invalidation of either orphans it exactly like
   * the entry itself; it lives no longer than the entry's TTL (16 MB per process, LRU).
   */
  rememberDerived(derivedKey: string, derived: DerivedBody): void {
    this.derivedBodies.set(derivedKey, derived);
  }

  health(): CacheHealth {
    return {
      backend: this.store.kind,
      state: this.state,
      ...(this.state === 'bypass'
        ? { since: this.since.toISOString(), ...(this.lastError ? { lastError: this.lastError } : {}) }
        : {}),
      pendingInvalidations: this.pendingOverflow ? this.maxPending : this.pending.size,
    };
  }

  /** Counters since start (read by tests; not exported on `/metrics` yet). */
  stats(): CacheStats {
    return { ...this.counters, bumpsHeard: this.store.bumpsHeard?.() ?? 0 };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.probeTimer);
    await this.probing;
    await this.store.close();
  }

  private async bypass(compute: () => Promise<string>): Promise<CachedBody> {
    this.counters.bypasses++;
    return { body: await compute(), outcome: 'BYPASS' };
  }

  private async computeAndStore(entry: string, compute: () => Promise<string>): Promise<string> {
    const body = await compute();
    if (this.state === 'up') {
      try {
        await this.bounded(this.store.set(entry, body, this.ttlSeconds));
      } catch (error) {
        this.fail(error);
      }
    }
    return body;
  }

  private bounded<T>(operation: Promise<T>): Promise<T> {
    if (!this.store.remote) return operation;
    return withinMs(operation, this.timeoutMs);
  }

  private remember(namespaces: readonly string[]): void {
    if (this.pendingOverflow) return;
    for (const namespace of namespaces) this.pending.add(namespace);
    if (this.pending.size > this.maxPending) {
      this.pendingOverflow = true;
      this.pending.clear();
    }
  }

  private fail(error: unknown): void {
    this.counters.errors++;
    if (this.state === 'bypass') return;
    this.state = 'bypass';
    this.since = new Date();
    this.lastError = error instanceof Error ? error.message : String(error);
    // Only the switch is logged: once per outage, not once per request.
    this.log?.warn(
      { backend: this.store.kind, error: this.lastError },
      'cache unavailable: answering from the database until it is back',
    );
    this.startProbing();
  }

  private startProbing(): void {
    if (this.probeTimer || this.closed) return;
    this.probeTimer = setInterval(() => void this.probe(), this.probeIntervalMs);
    this.probeTimer.unref();
    void this.probe();
  }

  /** Back to `up` only once the store answers and every missed invalidation has been written. */
  private probe(): Promise<void> {
    if (this.state === 'up' || this.closed) return Promise.resolve();
    this.probing ??= (async () => {
      try {
        await this.bounded(this.store.ping());
        while (this.pendingOverflow || this.pending.size) {
          const namespaces = this.pendingOverflow ? [EVERYTHING] : [...this.pending];
          const overflow = this.pendingOverflow;
          this.pending.clear();
          this.pendingOverflow = false;
          try {
            await this.bounded(this.store.bump(namespaces, this.versionTtlSeconds));
          } catch (error) {
            if (overflow) this.pendingOverflow = true;
            else this.remember(namespaces);
            throw error;
          }
        }
        this.state = 'up';
        this.lastError = undefined;
        clearInterval(this.probeTimer);
        this.probeTimer = undefined;
        if (this.everUp) this.log?.info({ backend: this.store.kind }, 'cache available again');
        this.everUp = true;
      } catch (error) {
        this.lastError = error instanceof Error ? error.message : String(error);
      } finally {
        this.probing = undefined;
      }
    })();
    return this.probing;
  }
}

/**
 * Where an entry lives: readable route first (for redis-cli), then a hash of the full request key
 * and the namespace versions it was built on. Bounded length whatever the query string.
 */
function entryKey(key: string, versions: readonly string[]): string {
  const label = (key.split('?')[0] ?? '').slice(0, 100);
  const digest = createHash('sha256')
    .update(key)
    .update('\0')
    .update(versions.join(','))
    .digest('base64url')
    .slice(0, 32);
  return `${label}@${digest}`;
}
