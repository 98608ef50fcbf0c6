import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon, { type Request, type Result } from 'autocannon';
import postgres from 'postgres';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/client.js';
import { createDeps } from '../src/deps.js';
import { probeJobType } from '../src/jobs/system-jobs.js';
import { createAccessTokenSigner } from '../src/modules/auth/access-token.js';
import { type FanOutResult, measureFanOut, within } from './fan-out.js';
import {
  ADMIN_URL,
  cleanup,
  cpuSeconds,
  databaseUrl,
  dataDir,
  dbName,
  json,
  jwtSecret,
  log,
  median,
  prefixes,
  rssMb,
  runId,
  type Server,
  serverEnv,
  startServer,
} from './harness.js';
import { BENCH_PASSWORD, BENCH_USER, seed } from './seed.js';

/**
 * `npm run bench`: a fresh PostgreSQL database + the local Redis (own key prefixes), a seeded
 * data set, the real server in production mode as a child process, then autocannon scenarios,
 * RSS under load, event-loop delay during a login storm, the new-article fan-out to 10,000
 * followers (bench/fan-out.ts) and the worker's throughput. Prints one table; every ratio is to
 * `/health/live` of the same server in the same run, so runs on different machines compare. Everything it creates is removed at the end.
 *
 * Environment: BENCH_DATABASE_URL (a server URL; a database is created on it, default
 * postgres://postgres@127.0.0.1:5432/postgres), BENCH_REDIS_URL (default redis://127.0.0.1:6379),
 * BENCH_DURATION (seconds per scenario, default 6), BENCH_CONNECTIONS (default 32),
 * BENCH_ONLY (comma-separated scenario names), BENCH_TSX=1 (run the server's sources through tsx
 * instead of the build), BENCH_NODE_ARGS (extra node flags for the server, e.g.
 * "--cpu-prof --cpu-prof-dir=prof"), BENCH_JSON (write the results as JSON to this file).
 *
 * Before/after in one run: BENCH_COMPARE_ROOT (a checkout of the previous state, e.g. made with
 * `git worktree add /tmp/before HEAD~1` or `git archive`, with node_modules linked) and/or
 * BENCH_COMPARE_ENV ("NAME=value NAME2=value") start a third server, "before", on the same
 * database; every selected scenario then also runs against it, right after the current one.
 * When that checkout has a bench/fan-out.ts, its fan-out is measured too, before the current one.
 * The uncached list gets its "before" too, from a fourth server with CACHE_ENABLED=false.
 *
 * BENCH_ROUNDS (default 1): every selected scenario (and its "before") runs that many times,
 * alternating, and each row reports the median round: noise on a shared machine moves both sides.
 * With BENCH_ONLY, the fan-out and the worker drain run only when named ("fan-out", "worker").
 *
 * The database paths as the data grows (20,000 → 1,000,000 articles): `npm run bench:growth`
 * (bench/growth.ts). The server helpers both use live in bench/harness.ts.
 */

const DURATION = Number(process.env.BENCH_DURATION ?? 6);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const ONLY = process.env.BENCH_ONLY?.split(',').map((s) => s.trim());
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 1));
const WORKER_JOBS = 10_000;
/** Signed-in users of the "many viewers" scenario, each request from the next one. */
const VIEWERS = 1000;
const COMPARE_ROOT = process.env.BENCH_COMPARE_ROOT;
const COMPARE_ENV = Object.fromEntries(
  (process.env.BENCH_COMPARE_ENV ?? '')
    .split(' ')
    .filter(Boolean)
    .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
);
const COMPARE = COMPARE_ROOT !== undefined || Object.keys(COMPARE_ENV).length > 0;

/** prom-client resets its event-loop histogram on every scrape: read once before, once after. */
async function eventLoopP99Ms(server: Server): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const value = /^nodejs_eventloop_lag_p99_seconds (\S+)/m.exec(text)?.[1];
  return Number(value ?? Number.NaN) * 1000;
}

interface Scenario {
  name: string;
  server: 'cached' | 'uncached' | 'before' | 'before-uncached';
  connections?: number;
  request: Request;
}

interface Row {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  ratio: number;
  /** Peak RSS of the server during this scenario, MB. */
  rss: number;
  /** The server's CPU time per request, µs. */
  cpuUs: number;
}

async function measure(server: Server, scenario: Scenario, duration: number): Promise<Result> {
  return autocannon({
    url: server.url,
    connections: scenario.connections ?? CONNECTIONS,
    duration,
    requests: [scenario.request],
  });
}

function table(rows: Row[]): string {
  const lines = [
    '| scenario | req/s | p50 ms | p99 ms | errors/non-2xx | ratio to baseline | server CPU µs/req | peak RSS MB |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${r.errors} | ${r.ratio.toFixed(2)} | ${Math.round(r.cpuUs)} | ${r.rss.toFixed(0)} |`,
    ),
  ];
  return lines.join('\n');
}

async function benchWorker(): Promise<{ enqueueSeconds: number; drainSeconds: number }> {
  // The real BullMQ adapter and worker (deps.jobs), in this process, on the bench's own prefix.
  // Its own queue: the jobs the HTTP scenarios recorded (e.g. new-article notifications) stay out.
  const config = loadConfig({
    ...serverEnv(0),
    QUEUE_PREFIX: `${prefixes.QUEUE_PREFIX}-worker`,
    WORKER_CONCURRENCY: process.env.BENCH_WORKER_CONCURRENCY,
  });
  const deps = await createDeps(config);
  try {
    await deps.jobs.bullmq?.queue.waitUntilReady();
    const enqueueStarted = performance.now();
    // The jobs to drain: 10,000 handed to the queue at once, 100 in flight.
    for (let i = 0; i < WORKER_JOBS; i += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, WORKER_JOBS - i) }, (_, j) =>
          deps.jobs.enqueue(probeJobType, { key: `bench-${i + j}` }),
        ),
      );
    }
    const enqueueSeconds = (performance.now() - enqueueStarted) / 1000;
    const queue = deps.jobs.bullmq;
    if (!queue) throw new Error('the worker benchmark needs Redis');
    const drainStarted = performance.now();
    // The real BullMQ adapter and Worker with a no-op attempt: this measures the queue machinery
    // (fetch, lock, complete), not a handler, and leaves out the recurring jobs startProcessing()
    // would define (their first runs would be counted too).
    let done = 0;
    let resolveDrained: () => void = () => {};
    const drained = new Promise<void>((resolve) => {
      resolveDrained = resolve;
    });
    await queue.process(async () => {
      if (++done === WORKER_JOBS) resolveDrained();
      return { outcome: 'completed' };
    }, config.jobs.concurrency);
    await within(120_000, 'worker drain', drained);
    // The last job's completion is written after its attempt returns: wait for the queue to say so.
    while ((await queue.counts()).active > 0) await sleep(5);
    const drainSeconds = (performance.now() - drainStarted) / 1000;
    return { enqueueSeconds, drainSeconds };
  } finally {
    await deps.close();
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  process.once('SIGINT', () => {
    void cleanup(admin).finally(() => process.exit(130));
  });
  try {
    await admin`create database ${admin(dbName)}`;
    log(`database ${dbName}, redis prefix conduit-bench-${runId}`);
    // The seed's bulk INSERTs and VACUUM run longer than a request's statement bound.
    const database = await openDatabase({
      databaseUrl: databaseUrl(),
      dataDir,
      poolSize: 10,
      databaseStatementTimeoutMs: 3_600_000,
    });
    await database.migrate();
    const seeded = await seed(database.db);
    await database.close();
    log(`seeded in ${seeded.seconds.toFixed(1)} s`);

    const [cached, uncached] = await Promise.all([
      startServer(3900 + Math.floor(Math.random() * 50)),
      startServer(3950 + Math.floor(Math.random() * 50), { CACHE_ENABLED: 'false' }),
    ]);
    if (!cached || !uncached) throw new Error('servers did not start');
    const [before, beforeUncached] = COMPARE
      ? await Promise.all([
          startServer(3850 + Math.floor(Math.random() * 50), COMPARE_ENV, COMPARE_ROOT),
          startServer(
            3800 + Math.floor(Math.random() * 50),
            { ...COMPARE_ENV, CACHE_ENABLED: 'false' },
            COMPARE_ROOT,
          ),
        ])
      : [];
    const pid = cached.process.pid ?? 0;

    const login = await json(`${cached.url}/api/users/login`, {
      method: 'POST',
      body: JSON.stringify({ user: { email: BENCH_USER.email, password: BENCH_PASSWORD } }),
    });
    const token = (login.user as { token: string }).token;
    const auth = { authorization: `Token ${token}` };
    // Many viewers: tokens minted with the servers' secret (what a login would return), not
    // 1,000 argon2 logins (~30 s of CPU here).
    // Seeded users never changed their password: token version 0.
    const signer = createAccessTokenSigner(jwtSecret, { accessTtlSeconds: 3600, sessionTtlSeconds: 3600 });
    const viewerTokens = await Promise.all(
      seeded.userIds.slice(0, VIEWERS).map((id) => signer.sign({ id, tokenVersion: 0 })),
    );
    let viewer = 0;
    let counter = 0;
    const slugs = seeded.slugs;
    const hotSlug = slugs[slugs.length - 1] ?? seeded.commentedSlug;

    const scenarios: Scenario[] = [
      { name: 'baseline GET /health/live', server: 'cached', request: { path: '/health/live' } },
      { name: 'GET /api/tags', server: 'cached', request: { path: '/api/tags' } },
      { name: 'anonymous list (cached)', server: 'cached', request: { path: '/api/articles' } },
      { name: 'anonymous list (cache off)', server: 'uncached', request: { path: '/api/articles' } },
      {
        name: 'list by tag',
        server: 'cached',
        request: { path: `/api/articles?tag=${seeded.popularTag}` },
      },
      { name: 'signed-in list', server: 'cached', request: { path: '/api/articles', headers: auth } },
      {
        name: `signed-in list (${viewerTokens.length.toLocaleString('en')} viewers)`,
        server: 'cached',
        request: {
          path: '/api/articles',
          headers: auth,
          setupRequest: (request) => ({
            ...request,
            headers: {
              ...request.headers,
              authorization: `Token ${viewerTokens[++viewer % viewerTokens.length]}`,
            },
          }),
        },
      },
      { name: 'feed', server: 'cached', request: { path: '/api/articles/feed', headers: auth } },
      { name: 'single article', server: 'cached', request: { path: `/api/articles/${hotSlug}` } },
      {
        name: 'comments',
        server: 'cached',
        request: { path: `/api/articles/${seeded.commentedSlug}/comments` },
      },
      {
        name: 'create article',
        server: 'cached',
        request: {
          method: 'POST',
          path: '/api/articles',
          headers: { ...auth, 'content-type': 'application/json' },
          setupRequest: (request) => ({
            ...request,
            body: JSON.stringify({
              article: {
                title: `Benchmark article ${runId} ${++counter}`,
                description: 'Written by the benchmark',
                body: 'Lorem ipsum dolor sit amet. '.repeat(40),
                tagList: ['bench', `tag${counter % 50}`],
              },
            }),
          }),
        },
      },
      {
        name: 'favorite',
        server: 'cached',
        request: {
          method: 'POST',
          path: '/api/articles/x/favorite',
          headers: auth,
          setupRequest: (request) => ({
            ...request,
            path: `/api/articles/${slugs[++counter % slugs.length]}/favorite`,
          }),
        },
      },
      {
        name: 'login (storm)',
        server: 'cached',
        request: {
          method: 'POST',
          path: '/api/users/login',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ user: { email: 'user7@example.com', password: BENCH_PASSWORD } }),
        },
      },
    ];
    const selected = scenarios
      .filter((s) => s.name.startsWith('baseline') || !ONLY || ONLY.some((o) => s.name.includes(o)))
      .flatMap((s) => {
        if (!before || s.name.startsWith('baseline')) return [s];
        const server = s.server === 'uncached' ? ('before-uncached' as const) : ('before' as const);
        return [s, { ...s, name: `${s.name} (before)`, server }];
      });

    // Warm-up: JIT, connection pools, caches.
    const servers = {
      cached,
      uncached,
      before: before ?? cached,
      'before-uncached': beforeUncached ?? uncached,
    };
    for (const server of [cached, uncached, ...(before && beforeUncached ? [before, beforeUncached] : [])]) {
      await autocannon({
        url: server.url,
        connections: 8,
        duration: 2,
        requests: [{ path: '/health/live' }],
      });
      await autocannon({
        url: server.url,
        connections: 8,
        duration: 2,
        requests: [{ path: '/api/articles' }],
      });
    }

    let peakRss = 0;
    let scenarioRss = 0;
    let sampled = pid;
    const rssTimer = setInterval(() => {
      const rss = rssMb(sampled);
      scenarioRss = Math.max(scenarioRss, rss);
      if (sampled === pid) peakRss = Math.max(peakRss, rss);
    }, 200);

    const rows: Row[] = [];
    let baseline = 0;
    let eventLoopP99 = Number.NaN;
    // A scenario and its "before" alternate round by round, so both see the same machine.
    const groups: Scenario[][] = [];
    for (const scenario of selected) {
      if (scenario.server.startsWith('before')) groups.at(-1)?.push(scenario);
      else groups.push([scenario]);
    }
    for (const group of groups) {
      const rounds = new Map<
        Scenario,
        { result: Result; rss: number; eventLoopP99: number; cpuUs: number }[]
      >(group.map((scenario) => [scenario, []]));
      for (let round = 0; round < ROUNDS; round++) {
        for (const scenario of group) {
          const server = servers[scenario.server];
          const storm = scenario.name.startsWith('login');
          sampled = server.process.pid ?? pid;
          scenarioRss = 0;
          if (round === 0) await measure(server, scenario, 1); // per-scenario warm-up (fills its cache entry)
          if (storm) await eventLoopP99Ms(server); // resets the histogram
          const cpuBefore = cpuSeconds(server.process.pid ?? pid);
          const result = await measure(server, scenario, DURATION);
          const cpuUs =
            ((cpuSeconds(server.process.pid ?? pid) - cpuBefore) * 1e6) / (result.requests.total || 1);
          const loopP99 = storm ? await eventLoopP99Ms(server) : Number.NaN;
          rounds.get(scenario)?.push({ result, rss: scenarioRss, eventLoopP99: loopP99, cpuUs });
          log(`${scenario.name}: ${Math.round(result.requests.average)} req/s, p99 ${result.latency.p99} ms`);
        }
      }
      for (const [scenario, results] of rounds) {
        const rps = median(results.map(({ result }) => result.requests.average));
        if (scenario.name === 'baseline GET /health/live') baseline = rps;
        const loopP99 = median(results.map((r) => r.eventLoopP99));
        if (!Number.isNaN(loopP99)) {
          if (scenario.server.startsWith('before'))
            log(`event-loop delay p99 (before): ${loopP99.toFixed(1)} ms`);
          else eventLoopP99 = loopP99;
        }
        rows.push({
          name: scenario.name,
          rps,
          p50: median(results.map(({ result }) => result.latency.p50)),
          p99: median(results.map(({ result }) => result.latency.p99)),
          errors: results.reduce(
            (sum, { result }) => sum + result.errors + result.timeouts + result.non2xx,
            0,
          ),
          ratio: baseline ? rps / baseline : Number.NaN,
          rss: Math.max(...results.map((r) => r.rss)),
          cpuUs: median(results.map((r) => r.cpuUs)),
        });
      }
    }
    clearInterval(rssTimer);
    // Other processes on the machine move the baseline: measure it again at the end and let the
    // ratios use the mean of both, printed next to the first.
    const lastBaseline = await measure(
      cached,
      { name: 'baseline', server: 'cached', request: { path: '/health/live' } },
      DURATION,
    );
    const first = baseline;
    baseline = (first + lastBaseline.requests.average) / 2;
    log(
      `baseline at the end: ${Math.round(lastBaseline.requests.average)} req/s (start ${Math.round(first)}); ratios use the mean`,
    );
    for (const row of rows) row.ratio = row.rps / baseline;

    const fanOutConfig = (queuePrefix: string) =>
      loadConfig({
        ...serverEnv(0),
        QUEUE_PREFIX: queuePrefix,
        LOG_LEVEL: 'warn',
        WORKER_CONCURRENCY: process.env.BENCH_WORKER_CONCURRENCY,
      });
    const fanOutLine = (label: string, r: FanOutResult) =>
      `fan-out${label}: ${r.followers} email.send jobs queued in ${r.queuedSeconds.toFixed(2)} s (${r.batches} fan-out jobs; the first picked up ${(r.pickupSeconds * 1000).toFixed(0)} ms after publishing)`;
    // The previous tree's fan-out (its bench/fan-out.ts and src/), first, on the same data.
    const compareFanOut = COMPARE_ROOT ? path.join(COMPARE_ROOT, 'bench/fan-out.ts') : undefined;
    const wanted = (name: string) => !ONLY || ONLY.includes(name);
    let fanOutBefore: FanOutResult | undefined;
    if (wanted('fan-out') && compareFanOut && existsSync(compareFanOut)) {
      const previous = (await import(compareFanOut)) as { measureFanOut: typeof measureFanOut };
      fanOutBefore = await previous.measureFanOut(
        fanOutConfig(`${prefixes.QUEUE_PREFIX}-fanout-before`),
        seeded.fanOutAuthorId,
        seeded.fanOutFollowers,
        `Fan-out before ${runId}`,
      );
      log(fanOutLine(' (before)', fanOutBefore));
    }
    const fanOut = wanted('fan-out')
      ? await measureFanOut(
          fanOutConfig(`${prefixes.QUEUE_PREFIX}-fanout`),
          seeded.fanOutAuthorId,
          seeded.fanOutFollowers,
          `Fan-out ${runId}`,
        )
      : undefined;
    if (fanOut) log(fanOutLine('', fanOut));
    const worker = wanted('worker') ? await benchWorker() : undefined;
    if (worker) {
      log(
        `worker: ${WORKER_JOBS} jobs enqueued in ${worker.enqueueSeconds.toFixed(2)} s, drained in ${worker.drainSeconds.toFixed(2)} s`,
      );
    }

    const rowsByName = new Map(rows.map((r) => [r.name, r]));
    const check = (label: string, pass: boolean | undefined, value: string) =>
      `| ${label} | ${value} | ${pass === undefined ? 'n/a' : pass ? 'pass' : 'FAIL'} |`;
    const ratio = (name: string) => rowsByName.get(name)?.ratio;
    const atLeast = (name: string, min: number) => {
      const r = ratio(name);
      return check(`${name} ≥ ${min}×`, r === undefined ? undefined : r >= min, r?.toFixed(2) ?? '-');
    };
    const uncachedRow = rowsByName.get('anonymous list (cache off)');
    const totalErrors = rows
      .filter((r) => !r.name.endsWith('(before)'))
      .reduce((sum, r) => sum + r.errors, 0);
    const targets = [
      '| target | measured | |',
      '|---|---:|---|',
      atLeast('anonymous list (cached)', 0.6),
      atLeast('signed-in list', 0.35),
      atLeast('feed', 0.35),
      check(
        `uncached list p99 ≤ 25 ms at ${CONNECTIONS} connections`,
        uncachedRow ? uncachedRow.p99 <= 25 : undefined,
        uncachedRow ? `${uncachedRow.p99} ms` : '-',
      ),
      check('no errors', totalErrors === 0, String(totalErrors)),
      check('RSS under load ≤ 250 MB', peakRss <= 250, `${peakRss.toFixed(0)} MB`),
      check(
        'event-loop delay p99 ≤ 20 ms (login storm)',
        Number.isNaN(eventLoopP99) ? undefined : eventLoopP99 <= 20,
        Number.isNaN(eventLoopP99) ? '-' : `${eventLoopP99.toFixed(1)} ms`,
      ),
      check(
        `${WORKER_JOBS} no-op jobs drained < 10 s`,
        worker && worker.drainSeconds < 10,
        worker ? `${worker.drainSeconds.toFixed(2)} s` : '-',
      ),
      check(
        'fan-out of one article to 10,000 followers queued < 5 s',
        fanOut && fanOut.queuedSeconds < 5,
        fanOut
          ? `${fanOut.queuedSeconds.toFixed(2)} s${fanOutBefore ? ` (before: ${fanOutBefore.queuedSeconds.toFixed(2)} s)` : ''}`
          : '-',
      ),
    ];

    const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${new Date().toISOString()}`;
    const output = [
      `Machine: ${machine}`,
      `Duration ${DURATION} s per scenario, ${CONNECTIONS} connections (login: 32)`,
      '',
      table(rows),
      '',
      targets.join('\n'),
      '',
      `Whole run: ${((performance.now() - started) / 1000).toFixed(0)} s (seed ${seeded.seconds.toFixed(1)} s)`,
    ].join('\n');
    process.stdout.write(`${output}\n`);
    if (process.env.BENCH_JSON) {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(
        process.env.BENCH_JSON,
        JSON.stringify({ machine, rows, peakRss, eventLoopP99, worker, fanOut, fanOutBefore }, null, 2),
      );
    }
  } finally {
    await cleanup(admin);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
