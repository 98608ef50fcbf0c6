import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Type } from 'typebox';
import { NotFoundError } from '../errors.js';
import type { Viewer } from '../plugins/auth.js';
import type { CacheOutcome, CacheVariant, DerivedBody, ResponseCache } from './response-cache.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The response cache: `cachedGet` reads through it, writes call `app.cache.invalidate(…)`. */
    cache: ResponseCache;
  }
}

/** For the response schema of a `cachedGet` route, so the docs show the conditional GET. */
export const notModifiedResponse = {
  304: Type.Null({ description: 'Not Modified: `If-None-Match` matched the current `ETag` (empty body)' }),
};

export interface CachedGetOptions<T> {
  /** What the response depends on (`cacheReads.*` in namespaces.ts). */
  namespaces: readonly string[];
  /**
   * Builds the viewer-independent payload from the database. It is stored as JSON and every
   * request gets a parsed copy, so it must be plain JSON (ISO strings, not Dates; no Maps).
   */
  compute: () => Promise<T>;
  /** Defaults to the route pattern, its params and its validated query with keys sorted. */
  key?: string;
  /** Skip the cache for this request. */
  bypass?: boolean;
  /**
   * For things some viewers may see beyond the shared view (a scheduled article, to its author):
   * when the shared view answers 404 to a signed-in viewer, look again, uncached, as that viewer.
   */
  computeForViewer?: (viewerId: number) => Promise<T>;
}

export interface PersonalizedGetOptions<T, R> extends CachedGetOptions<T> {
  /**
   * Turns the shared payload into this viewer's response: fills `favorited` / `following` with
   * one small indexed query for a signed-in viewer, and must run no query for `null` (anonymous),
   * so an anonymous HIT costs no SQL. It gets a private copy: mutating it is fine.
   */
  personalize: (payload: T, viewer: Viewer | null) => R | Promise<R>;
  /**
   * The namespaces a signed-in viewer's personalisation reads (`cacheReads.viewer`). Given, this
   * process keeps each viewer's serialized response next to the entry, like the anonymous one,
   * until the entry or the viewer's namespaces are bumped.
   */
  viewerNamespaces?: (viewerId: number) => readonly string[];
}

/**
 * Answers a cacheable GET: the viewer-independent payload comes from the cache (HIT) or from
 * `compute` (MISS, then stored; BYPASS when the cache is unavailable or `bypass` is set), then
 * `personalize` makes it this viewer's. Sets `X-Cache`, `Cache-Control` and `Vary`; the plugin adds
 * the ETag of the serialized body and answers 304 when `If-None-Match` matches it.
 * Return its result from the handler: the route's response schema serializes it as usual.
 */
export function cachedGet<T, R>(
  request: FastifyRequest,
  reply: FastifyReply,
  options: PersonalizedGetOptions<T, R>,
): Promise<R>;
export function cachedGet<T>(
  request: FastifyRequest,
  reply: FastifyReply,
  options: CachedGetOptions<T>,
): Promise<T>;
export async function cachedGet<T, R>(
  request: FastifyRequest,
  reply: FastifyReply,
  options: AnswerOptions<T, R>,
): Promise<T | R> {
  try {
    // A kept body is the serialized response itself (bytes that Fastify sends as is); to the
    // route it stands for the response its schema describes.
    return (await answer(request, reply, options)) as T | R;
  } catch (error) {
    const viewerId = request.viewer?.id;
    const { computeForViewer } = options;
    if (!computeForViewer || !(error instanceof NotFoundError) || viewerId === undefined) throw error;
    // Bypassed, so never kept: what the author alone may see must not reach anyone else.
    const bypass = { ...options, bypass: true, compute: () => computeForViewer(viewerId) };
    return (await answer(request, reply, bypass)) as T | R;
  }
}

type AnswerOptions<T, R> = CachedGetOptions<T> &
  Partial<Pick<PersonalizedGetOptions<T, R>, 'personalize' | 'viewerNamespaces'>>;

async function answer<T, R>(
  request: FastifyRequest,
  reply: FastifyReply,
  options: AnswerOptions<T, R>,
): Promise<T | R | Buffer> {
  const personalize = (payload: T) =>
    options.personalize ? options.personalize(payload, request.viewer) : payload;
  const cache = request.server.cache;
  // Nothing will be read or stored: the payload is used as is, not turned into JSON and back.
  if (options.bypass || !cache.usable) {
    if (!options.bypass) cache.countBypass();
    const response = await personalize(await options.compute());
    cacheHeaders(reply, 'BYPASS');
    return response;
  }
  const variant = variantOf(request.viewer, options);
  const result = await cache.fetch(
    options.key ?? requestKey(request),
    options.namespaces,
    async () => JSON.stringify(await options.compute()),
    variant,
  );
  cacheHeaders(reply, result.outcome);
  if (result.derived) return sendDerived(reply, result.derived);
  // Parsed on a miss too: every viewer gets its own copy, and a HIT and a MISS serialize alike.
  const response = await personalize(JSON.parse(result.body) as T);
  if (!variant || result.derivedKey === undefined) return response;
  const body = Buffer.from(reply.serialize(response) as string);
  const derived = { body, etag: etagOf(body) };
  cache.rememberDerived(result.derivedKey, derived);
  return sendDerived(reply, derived);
}

/**
 * Whose response this is, when it may be kept in this process (see `rememberDerived`): anonymous
 * requests all get the same bytes; a signed-in viewer gets their own only where the route names
 * what their personalisation depends on.
 */
function variantOf<T, R>(viewer: Viewer | null, options: AnswerOptions<T, R>): CacheVariant | undefined {
  // Nothing personal in the response (tags): every viewer gets the anonymous bytes.
  if (viewer === null || !options.personalize) return { name: 'anonymous' };
  if (!options.viewerNamespaces) return undefined;
  return { name: `viewer:${viewer.id}`, namespaces: options.viewerNamespaces(viewer.id) };
}

/**
 * A response made earlier for this variant: no JSON.parse, no personalisation, no serialization,
 * no hashing. Bytes with a content type are sent as is: Fastify skips the
 * response serializer.
 */
function sendDerived(reply: FastifyReply, derived: DerivedBody): Buffer {
  reply.header('etag', derived.etag);
  reply.type('application/json; charset=utf-8');
  return derived.body;
}

function cacheHeaders(reply: FastifyReply, outcome: CacheOutcome): void {
  reply.header('x-cache', outcome);
  // Browsers may keep a copy but must revalidate (cheap with the ETag); shared caches must not
  // keep one at all: our invalidation cannot reach them, and bodies differ per Authorization.
  reply.header('cache-control', 'private, no-cache');
  addVary(reply, 'Authorization');
}

/** Route pattern + params + query, keys sorted: `?a=1&b=2` and `?b=2&a=1` share one entry. */
export function requestKey(request: FastifyRequest): string {
  return `${request.routeOptions.url}?${JSON.stringify([sorted(request.params), sorted(request.query)])}`;
}

function sorted(value: unknown): [string, unknown][] {
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function addVary(reply: FastifyReply, field: string): void {
  const current = reply.getHeader('vary');
  const fields = typeof current === 'string' ? current.split(',').map((f) => f.trim()) : [];
  if (!fields.some((f) => f.toLowerCase() === field.toLowerCase())) fields.push(field);
  reply.header('vary', fields.filter(Boolean).join(', '));
}

/** A strong validator of the exact bytes sent (after serialization and personalisation). */
export function etagOf(body: string | Buffer): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
}

/** RFC 9110 §13.1.2: `*` or any listed tag, compared weakly (a `W/` prefix is ignored). */
function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((candidate) => {
    const tag = candidate.trim();
    return tag === '*' || tag.replace(/^W\//, '') === etag;
  });
}

/** Makes `app.cache` available to routes and adds ETag / 304 to every `cachedGet` response. */
export const cachePlugin = fp<{ cache: ResponseCache }>(
  async (app: FastifyInstance, { cache }) => {
    cache.attachLogger(app.log.child({ module: 'cache' }));
    app.decorate('cache', cache);
    app.addHook('onSend', async (request, reply, payload) => {
      if (reply.statusCode !== 200 || !reply.hasHeader('x-cache')) return payload;
      if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return payload;
      // A kept body brings the ETag of its bytes along (sendDerived); hash only what is new.
      const known = reply.getHeader('etag');
      const etag = typeof known === 'string' ? known : etagOf(payload);
      reply.header('etag', etag);
      const ifNoneMatch = request.headers['if-none-match'];
      if (!matchesIfNoneMatch(ifNoneMatch, etag)) return payload;
      reply.code(304);
      reply.removeHeader('content-type');
      reply.removeHeader('content-length');
      return null;
    });
  },
  { name: 'cache' },
);
