import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import pTimeout from 'p-timeout';
import type { CacheStore } from './port.js';

/**
 * The shared store: every API process reads and bumps the same keys, so an invalidation made by
 * one instance is seen by all of them on their next request.
 *
 * Layout under `prefix`: `d:<entry>` holds a cached body, `v:<namespace>` the namespace's current
 * version token. Both always carry a TTL. Invalidation is a SET of a fresh random token (never an
 * INCR: a counter that expired or was evicted would count 1, 2, … again and could meet entries
 * built on those numbers before; a random token is never reused). So any key may expire or be
 * evicted at any time (a cache Redis with an LRU policy): the worst outcome is a miss.
 *
 * Every bump also PUBLISHes its namespaces on `<prefix>bumps`, in the same MULTI. A process given
 * a `subscriber` connection keeps the tokens it has read (VersionMemo) for as long as it hears
 * those messages, so most requests need no round trip to learn the versions.
 */
const newToken = () => randomBytes(9).toString('base64url');

/**
 * A backstop: a bump drops the tokens at once through pub/sub. It bounds what another process's
 * bump that failed half-way (Redis hung) can leave behind here, and lets processes converge on
 * shared tokens after one expires in Redis. One MGET per second per namespace set is nothing.
 */
const MEMO_TTL_MS = 1000;
const MEMO_MAX_NAMESPACES = 100_000;

/**
 * Version tokens this process has read, trusted only while its subscription to the bump channel
 * is up: a lost connection empties it and turns it off until the subscription is back.
 *
 * Pub/sub arrives on another connection than the reads, so a read may be answered before a bump
 * and delivered after that bump's message. `generation` advances on every message and every lost
 * subscription; a read is kept only if it did not move while the read was in flight.
 */
class VersionMemo {
  private readonly tokens = new LRUCache<string, string>({ max: MEMO_MAX_NAMESPACES, ttl: MEMO_TTL_MS });
  private listening = false;
  private closed = false;
  generation = 0;
  heard = 0;

  constructor(
    private readonly subscriber: Redis,
    private readonly channel: string,
  ) {
    subscriber.on('message', (from: string, message: string) => {
      if (from !== this.channel) return;
      this.heard++;
      const namespaces = parseNamespaces(message);
      // A message it cannot read may have named anything: forget everything.
      if (namespaces) this.forget(namespaces);
      else this.forgetAll();
    });
    subscriber.on('ready', () => void this.subscribe());
    for (const event of ['close', 'end', 'reconnecting', 'error']) subscriber.on(event, () => this.stop());
    if (subscriber.status === 'ready') void this.subscribe();
  }

  known(namespaces: readonly string[]): string[] | undefined {
    if (!this.listening) return undefined;
    const tokens: string[] = [];
    for (const namespace of namespaces) {
      const token = this.tokens.get(namespace);
      if (token === undefined) return undefined;
      tokens.push(token);
    }
    return tokens;
  }

  keep(namespaces: readonly string[], tokens: readonly string[], generationAtStart: number): void {
    if (!this.listening || generationAtStart !== this.generation) return;
    for (const [i, namespace] of namespaces.entries()) this.tokens.set(namespace, tokens[i] as string);
  }

  forget(namespaces: readonly string[]): void {
    this.generation++;
    for (const namespace of namespaces) this.tokens.delete(namespace);
  }

  close(): void {
    this.closed = true;
    this.stop();
    this.subscriber.disconnect();
  }

  private async subscribe(): Promise<void> {
    try {
      await this.subscriber.subscribe(this.channel);
      if (this.closed || this.subscriber.status !== 'ready') return;
      // Whatever was bumped before the subscription was heard by nobody here: start empty.
      this.tokens.clear();
      this.generation++;
      this.listening = true;
    } catch {
      this.stop();
    }
  }

  private stop(): void {
    this.listening = false;
    this.forgetAll();
  }

  /** Drops every token, and any read in flight with them. */
  private forgetAll(): void {
    this.generation++;
    this.tokens.clear();
  }
}

function parseNamespaces(message: string): string[] | undefined {
  try {
    const parsed: unknown = JSON.parse(message);
    if (Array.isArray(parsed) && parsed.every((n) => typeof n === 'string')) return parsed;
  } catch {}
  return undefined;
}

/**
 * `subscriber`: a connection of its own (it is put in subscriber mode) for the version memo;
 * without it every read asks Redis for the versions.
 */
export function createRedisStore(redis: Redis, prefix: string, subscriber?: Redis): CacheStore {
  const entryKey = (key: string) => `${prefix}d:${key}`;
  const versionKey = (namespace: string) => `${prefix}v:${namespace}`;
  const channel = `${prefix}bumps`;
  const memo = subscriber ? new VersionMemo(subscriber, channel) : undefined;

  async function readVersions(namespaces: readonly string[], ttlSeconds: number): Promise<string[]> {
    const tokens = await redis.mget(namespaces.map(versionKey));
    const missing = namespaces.filter((_, i) => tokens[i] === null);
    if (!missing.length) return tokens as string[];
    // Rare (first use, expiry, eviction): create a token unless another process just did, and
    // read whichever won, atomically.
    const transaction = redis.multi();
    for (const namespace of missing) {
      transaction.set(versionKey(namespace), newToken(), 'EX', ttlSeconds, 'NX').get(versionKey(namespace));
    }
    const results = await transaction.exec();
    const created = (results ?? [])
      .filter((_, i) => i % 2 === 1)
      .map(([error, token]) => {
        if (error || typeof token !== 'string') throw error ?? new Error('no version token');
        return token;
      });
    let next = 0;
    return tokens.map((token) => token ?? (created[next++] as string));
  }

  return {
    kind: 'redis',
    remote: true,
    get: async (key) => (await redis.get(entryKey(key))) ?? undefined,
    set: async (key, value, ttlSeconds) => {
      await redis.set(entryKey(key), value, 'EX', ttlSeconds);
    },
    knownVersions: (namespaces) => memo?.known(namespaces),
    bumpsHeard: () => memo?.heard ?? 0,
    versions: async (namespaces, ttlSeconds) => {
      if (!namespaces.length) return [];
      const generation = memo?.generation ?? 0;
      const tokens = await readVersions(namespaces, ttlSeconds);
      memo?.keep(namespaces, tokens, generation);
      return tokens;
    },
    bump: async (namespaces, ttlSeconds) => {
      if (!namespaces.length) return;
      const pipeline = redis.multi();
      for (const namespace of namespaces) {
        pipeline.set(versionKey(namespace), newToken(), 'EX', ttlSeconds);
      }
      pipeline.publish(channel, JSON.stringify(namespaces));
      try {
        const results = await pipeline.exec();
        const failed = results?.find(([error]) => error);
        if (!results || failed) throw failed?.[0] ?? new Error('cache invalidation was discarded');
      } finally {
        // Our own message may come later than this answer (or never, if the bump half failed):
        // this process must not wait for it.
        memo?.forget(namespaces);
      }
    },
    ping: async () => {
      await redis.ping();
    },
    onAvailable: (listener) => {
      redis.on('ready', listener);
    },
    close: async () => {
      memo?.close();
      // A hung Redis must not hold up shutdown: QUIT politely, then drop the socket regardless.
      await pTimeout(redis.quit(), { milliseconds: 1000, message: false }).catch(() => {});
      redis.disconnect();
    },
  };
}
