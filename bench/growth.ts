import autocannon, { type Request, type Result } from 'autocannon';
import postgres from 'postgres';
import { openDatabase } from '../src/db/client.js';
import { createAccessTokenSigner } from '../src/modules/auth/access-token.js';
import { followAuthors, growArticles, seedPeople, settle, USERS } from './grow.js';
import {
  ADMIN_URL,
  cleanup,
  databaseUrl,
  dataDir,
  dbName,
  json,
  jwtSecret,
  log,
  median,
  type Server,
  startServer,
  stopServer,
} from './harness.js';

/**
 * `npm run bench:growth`: the database paths of the reads as the data grows. A fresh database
 * (as bench/run.ts makes it, same cleanup) is seeded by bench/grow.ts with 100,000 users and the
 * first size of articles, measured, grown to the next size, measured again, and so on
 * (default 20,000 → 200,000 → 1,000,000). At each size: `VACUUM ANALYZE`, then the real server
 * with `CACHE_ENABLED=false` (restarted per size: fresh connections and plans), a check that the
 * API's `articlesCount` equals a `count(*)` (the triggers kept the counters through the bulk
 * inserts), then autocannon at 32 connections per scenario:
 *
 *   list        GET /api/articles                      (anonymous, first page)
 *   tag         GET /api/articles?tag=tag000           (the most popular tag, ~15 % of articles)
 *   feed        GET /api/articles/feed                 (signed in as the user who follows 1,000 authors)
 *   offset      GET /api/articles?offset=10000&limit=20
 *   article     GET /api/articles/:slug                (the newest article)
 *
 * Prints each size's seed time and a table of p50/p99/req/s per scenario and size, with the targets
 * at the largest size (list and tag p99 ≤ 25 ms, feed and offset p99 ≤ 50 ms).
 *
 * Environment: BENCH_DATABASE_URL, BENCH_REDIS_URL, BENCH_DURATION (seconds per scenario,
 * default 5), BENCH_CONNECTIONS (32), BENCH_ROUNDS (1; the median round), BENCH_ONLY (scenario
 * names), GROWTH_SIZES (article counts, default "20000,200000,1000000"), BENCH_COMPARE_ROOT (a
 * checkout of the previous state: its uncached server runs every scenario too, alternating, as
 * "(before)"), GROWTH_SQL (statements run after the migrations, e.g. an index not yet in a
 * migration), GROWTH_KEEP=1 (keep the database at the end, for EXPLAIN; its name is logged).
 */

const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 1));
const ONLY = process.env.BENCH_ONLY?.split(',').map((s) => s.trim());
const SIZES = (process.env.GROWTH_SIZES ?? '20000,200000,1000000').split(',').map(Number);
const COMPARE_ROOT = process.env.BENCH_COMPARE_ROOT;
const KEEP = process.env.GROWTH_KEEP === '1';

const TARGETS: Record<string, number> = { list: 25, tag: 25, feed: 50, offset: 50 };

interface Row {
  size: number;
  scenario: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

function scenarios(token: string): { name: string; request: Request }[] {
  const all = [
    { name: 'list', request: { path: '/api/articles' } },
    { name: 'tag', request: { path: '/api/articles?tag=tag000' } },
    { name: 'feed', request: { path: '/api/articles/feed', headers: { authorization: `Token ${token}` } } },
    { name: 'offset', request: { path: '/api/articles?offset=10000&limit=20' } },
    // The newest article (set per size below).
    { name: 'article', request: { path: '/api/articles/growth-0' } },
  ];
  return all.filter((s) => !ONLY || ONLY.includes(s.name));
}

async function cannon(server: Server, request: Request, duration: number): Promise<Result> {
  return autocannon({ url: server.url, connections: CONNECTIONS, duration, requests: [request] });
}

/** The API's articlesCount against count(*): the triggers kept the counters through the seed. */
async function checkCounts(sql: postgres.Sql, server: Server, token: string): Promise<void> {
  const [counted] = await sql<{ all: number; tag: number; feed: number }[]>`
    select count(*)::int as all,
      count(*) filter (where tag_list @> array['tag000'])::int as tag,
      count(*) filter (where author_id in (select following_id from follows
        where follower_id = (select id from users where username = 'benchuser')))::int as feed
    from articles where published_at is not null`;
  const [linked] = await sql<{ tag: number }[]>`
    select count(*)::int as tag from article_tags join tags on tags.id = tag_id
    join articles on articles.id = article_id
    where tags.name = 'tag000' and articles.published_at is not null`;
  const api = async (path: string, headers: Record<string, string> = {}) =>
    (await json(`${server.url}${path}`, { headers })).articlesCount as number;
  const seen = {
    all: await api('/api/articles?limit=1'),
    tag: await api('/api/articles?tag=tag000&limit=1'),
    feed: await api('/api/articles/feed?limit=1', { authorization: `Token ${token}` }),
  };
  if (
    !counted ||
    seen.all !== counted.all ||
    seen.tag !== counted.tag ||
    seen.tag !== linked?.tag ||
    seen.feed !== counted.feed
  ) {
    throw new Error(
      `counts disagree: API ${JSON.stringify(seen)}, count(*) ${JSON.stringify(counted)}, links ${linked?.tag}`,
    );
  }
  log(`counts agree: ${counted.all} published, ${counted.tag} tagged tag000, ${counted.feed} in the feed`);
}

async function main(): Promise<void> {
  const started = performance.now();
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  process.once('SIGINT', () => {
    void cleanup(admin, { keepDatabase: KEEP }).finally(() => process.exit(130));
  });
  const sql = postgres(databaseUrl(), { max: 1, onnotice: () => {} });
  try {
    await admin`create database ${admin(dbName)}`;
    log(`database ${dbName}`);
    const database = await openDatabase({
      databaseUrl: databaseUrl(),
      dataDir,
      poolSize: 2,
      databaseStatementTimeoutMs: 3_600_000,
    });
    await database.migrate();
    await database.close();
    if (process.env.GROWTH_SQL) await sql.unsafe(process.env.GROWTH_SQL);

    const peopleStarted = performance.now();
    const seeded = await seedPeople(sql);
    log(`${USERS} users, tags and follows in ${((performance.now() - peopleStarted) / 1000).toFixed(1)} s`);
    const signer = createAccessTokenSigner(jwtSecret, { accessTtlSeconds: 3600, sessionTtlSeconds: 3600 });
    const token = await signer.sign({ id: seeded.benchUserId, tokenVersion: 0 });

    const rows: Row[] = [];
    const seedSeconds: { size: number; seconds: number }[] = [];
    let size = 0;
    for (const target of SIZES) {
      const growStarted = performance.now();
      await growArticles(sql, size, target);
      if (size === 0) log(`benchmark user follows ${await followAuthors(sql, seeded.benchUserId)} authors`);
      await settle(sql);
      const seconds = (performance.now() - growStarted) / 1000;
      seedSeconds.push({ size: target, seconds });
      log(`grown ${size} → ${target} articles in ${seconds.toFixed(1)} s (vacuum analyze included)`);
      size = target;

      const current = await startServer(4000 + Math.floor(Math.random() * 100), { CACHE_ENABLED: 'false' });
      const servers: [string, Server][] = [['', current]];
      if (COMPARE_ROOT) {
        const before = await startServer(
          4100 + Math.floor(Math.random() * 100),
          { CACHE_ENABLED: 'false' },
          COMPARE_ROOT,
        );
        servers.push([' (before)', before]);
      }
      await checkCounts(sql, current, token);
      for (const [label, server] of servers) {
        await autocannon({
          url: server.url,
          connections: 8,
          duration: 2,
          requests: [{ path: '/api/articles' }],
        });
        if (label) await checkCounts(sql, server, token);
      }
      for (const scenario of scenarios(token)) {
        const request =
          scenario.name === 'article' ? { path: `/api/articles/growth-${size - 1}` } : scenario.request;
        const results = new Map<string, Result[]>(servers.map(([label]) => [label, []]));
        for (let round = 0; round < ROUNDS; round++) {
          for (const [label, server] of servers) {
            if (round === 0) await cannon(server, request, 1);
            const result = await cannon(server, request, DURATION);
            results.get(label)?.push(result);
            log(
              `${size} ${scenario.name}${label}: ${Math.round(result.requests.average)} req/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms`,
            );
          }
        }
        for (const [label, list] of results) {
          rows.push({
            size,
            scenario: `${scenario.name}${label}`,
            rps: median(list.map((r) => r.requests.average)),
            p50: median(list.map((r) => r.latency.p50)),
            p99: median(list.map((r) => r.latency.p99)),
            errors: list.reduce((sum, r) => sum + r.errors + r.timeouts + r.non2xx, 0),
          });
        }
      }
      for (const [, server] of servers) await stopServer(server);
    }

    const names = [...new Set(rows.map((r) => r.scenario))];
    const cell = (r: Row | undefined) =>
      r ? `${r.p50} / ${r.p99} / ${Math.round(r.rps)}${r.errors ? ` (${r.errors} errors)` : ''}` : '-';
    const largest = SIZES.at(-1) ?? 0;
    const lines = [
      `Duration ${DURATION} s per scenario, ${CONNECTIONS} connections, CACHE_ENABLED=false, ${ROUNDS} round(s)`,
      '',
      `| articles | seed s | ${names.join(' | ')} |`,
      `|---:|---:|${names.map(() => '---:|').join('')}`,
      ...SIZES.map(
        (s) =>
          `| ${s.toLocaleString('en')} | ${seedSeconds.find((x) => x.size === s)?.seconds.toFixed(0)} | ${names
            .map((n) => cell(rows.find((r) => r.size === s && r.scenario === n)))
            .join(' | ')} |`,
      ),
      '',
      'cells: p50 ms / p99 ms / req/s',
      '',
      `| target at ${largest.toLocaleString('en')} | p99 | |`,
      '|---|---:|---|',
      ...Object.entries(TARGETS).map(([name, limit]) => {
        const row = rows.find((r) => r.size === largest && r.scenario === name);
        const pass = row ? (row.p99 <= limit && row.errors === 0 ? 'pass' : 'FAIL') : 'n/a';
        return `| ${name} p99 ≤ ${limit} ms | ${row ? `${row.p99} ms` : '-'} | ${pass} |`;
      }),
      '',
      `Whole run ${((performance.now() - started) / 1000).toFixed(0)} s`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await sql.end({ timeout: 5 });
    if (KEEP) log(`kept database ${dbName}`);
    await cleanup(admin, { keepDatabase: KEEP });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
