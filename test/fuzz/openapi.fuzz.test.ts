import { randomInt } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';
import { insertUser, type TestUser, withFreshToken } from '../support/users.js';
import { type FuzzRequest, type Operation, type Pools, requestOf } from './generate.js';
import { operationsOf, ResponseChecker } from './openapi.js';

/**
 * Schema-driven fuzz: requests for every operation of the app's own OpenAPI document (valid,
 * boundary and malformed values, missing, extra and wrongly typed fields, huge, empty, NUL and
 * non-UTF-8 strings, with and without auth). Fails on any 5xx, any status or body the document
 * does not promise, and any request slower than FUZZ_TIME_BOUND_MS.
 *
 * CI runs a fixed seed and a bounded count; `npm run fuzz` runs a random seed and a larger count.
 * A failure names its seed: `FUZZ_SEED=<seed> npx vitest run test/fuzz` replays it.
 */
const seed =
  process.env.FUZZ_SEED === 'random' ? randomInt(2 ** 31) : Number(process.env.FUZZ_SEED ?? 20261201);
const totalCount = Number(process.env.FUZZ_COUNT ?? 2000);
const timeBoundMs = Number(process.env.FUZZ_TIME_BOUND_MS ?? 2000);

let t: TestApp;
let ann: TestUser;
let bob: TestUser;
let admin: TestUser;
let operations: Operation[];
const pools: Record<string, Array<string | number>> = {};
const checker = new ResponseChecker();
/** Statuses seen per operation: printed, so a run shows what it reached (2xx too, not only 4xx). */
const statusesSeen = new Map<string, Map<number, number>>();

beforeAll(async () => {
  t = await createTestApp({
    AUTH_RATE_LIMIT_IP_MAX: '1000000',
    AUTH_RATE_LIMIT_ACCOUNT_MAX: '1000000',
  });
  ann = await insertUser(t, { bio: 'writes' });
  bob = await insertUser(t);
  admin = await insertUser(t, { role: 'admin' });
  const registered = await t.app.inject({
    method: 'POST',
    url: '/api/users',
    payload: { user: { username: 'fuzz_user', email: 'fuzz@example.com', password: 'password123' } },
  });
  expect(registered.statusCode).toBe(201);
  const slugs: string[] = [];
  const ids: number[] = [];
  for (const [author, title] of [
    [ann, 'Fuzzing is fun'],
    [bob, 'Bob writes too'],
  ] as const) {
    const article = await t.app.inject({
      method: 'POST',
      url: '/api/articles',
      headers: author.headers,
      payload: { article: { title, description: 'd', body: 'b', tagList: ['fuzz'] } },
    });
    const { slug } = article.json().article;
    slugs.push(slug);
    const comment = await t.app.inject({
      method: 'POST',
      url: `/api/articles/${slug}/comments`,
      headers: bob.headers,
      payload: { comment: { body: 'a comment' } },
    });
    ids.push(comment.json().comment.id);
  }
  Object.assign(pools, {
    slug: slugs,
    id: ids,
    username: [ann.username, bob.username, 'fuzz_user'],
    author: [ann.username],
    favorited: [bob.username],
    tag: ['fuzz'],
    email: ['fuzz@example.com', ann.email],
    password: ['password123'],
    grant_type: ['password', 'refresh_token'],
    limit: [1, 20, 100],
    offset: [0, 1],
  } satisfies Pools);
  operations = operationsOf((await t.app.inject({ url: '/openapi.json' })).json());
});
afterAll(async () => {
  const coverage = [...statusesSeen].map(
    ([operation, statuses]) =>
      `${operation}  ${[...statuses].map(([status, count]) => `${status}×${count}`).join(' ')}`,
  );
  console.info(`fuzz (FUZZ_SEED=${seed}): statuses per operation\n${coverage.join('\n')}`);
  await t?.close();
});

function authHeader(auth: FuzzRequest['auth']): Record<string, string> {
  if (auth === 'user') return bob.headers;
  if (auth === 'admin') return admin.headers;
  if (auth === 'garbage') return { authorization: 'Token not.a.jwt' };
  return {};
}

function describeRequest(request: FuzzRequest): string {
  const payload =
    request.payload === undefined
      ? ''
      : `\n  body (${request.headers['content-type']}): ${Buffer.isBuffer(request.payload) ? `<bytes> ${request.payload.toString('latin1')}` : request.payload}`;
  const url =
    request.url.length > 300 ? `${request.url.slice(0, 300)}… (${request.url.length} chars)` : request.url;
  return `${request.method} ${url} (auth: ${request.auth})${payload.slice(0, 600)}`;
}

describe(`OpenAPI fuzz (FUZZ_SEED=${seed}, FUZZ_COUNT=${totalCount})`, () => {
  it('covers every operation of the document', async () => {
    expect(operations.length).toBeGreaterThan(30);
    const runsPerOperation = Math.max(5, Math.floor(totalCount / operations.length));
    // Every operation runs even when one fails, so that one run shows every failure.
    const failures: string[] = [];
    for (const [index, operation] of operations.entries()) {
      // Fresh tokens each time: an operation may have changed a password or signed out everywhere.
      bob = await withFreshToken(t, bob);
      admin = await withFreshToken(t, admin);
      const result = await fc.check(
        fc.asyncProperty(requestOf(operation, pools), async (request) => {
          const started = performance.now();
          const response = await t.app.inject({
            method: request.method as 'GET',
            url: request.url,
            headers: { ...request.headers, ...authHeader(request.auth) },
            payload: request.payload,
          });
          const elapsed = performance.now() - started;
          const key = `${operation.method.toUpperCase()} ${operation.path}`;
          const statuses = statusesSeen.get(key) ?? new Map<number, number>();
          statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
          statusesSeen.set(key, statuses);
          const problem =
            checker.problem(operation, response) ??
            (elapsed > timeBoundMs ? `took ${Math.round(elapsed)} ms (bound ${timeBoundMs} ms)` : undefined);
          if (problem) {
            throw new Error(
              `${operation.method.toUpperCase()} ${operation.path}: ${problem}\n  ${describeRequest(request)}` +
                `\n  → ${response.statusCode} ${response.body.slice(0, 500)}\n  replay: FUZZ_SEED=${seed} FUZZ_COUNT=${totalCount}`,
            );
          }
        }),
        { seed: seed + index, numRuns: runsPerOperation, endOnFailure: process.env.FUZZ_SHRINK !== '1' },
      );
      if (result.failed) {
        const error = result.errorInstance;
        failures.push(
          `${error instanceof Error ? error.message : String(error)}\n  (fast-check seed ${result.seed}, path ${result.counterexamplePath})`,
        );
      }
    }
    expect(failures, failures.join('\n\n')).toEqual([]);
  }, 600_000);
});
