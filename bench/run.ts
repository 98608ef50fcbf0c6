import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon, { type Result } from 'autocannon';
import postgres from 'postgres';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/client.js';
import { createDeps } from '../src/deps.js';
import { probeJobType } from '../src/jobs/system-jobs.js';
import { createAccessTokenSigner } from '../src/modules/auth/access-token.js';
import { type EmailThroughput, measureEmailThroughput } from './email-throughput.js';
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
  ROOT,
  rssMb,
  runId,
  type Server,
  serverArgs,
  serverEnv,
  servers,
  startServer,
  startSink,
} from './harness.js';
import { describeActivity, describeLockWaits, type LockWaits, sampleLockWaits } from './locks.js';
import { type MixedResult, mixedReport, runMixed } from './mixed.js';
import { findPgbench, type PgbenchResult, runPgbench } from './pgbench.js';
import type { Row, Scenario } from './scenario.js';
import { BENCH_PASSWORD, BENCH_USER, seed } from './seed.js';
import type { SmtpSink } from './smtp-sink.js';
import {
  lockWaitLines,
  prepareWriteTargets,
  singleConnection,
  WRITE_ROUTES,
  type WriteTargets,
  writeChecks,
  writeScenarios,
  writeTable,
} from './writes.js';

/**
 * `npm run bench`: a fresh PostgreSQL database + the local Redis (own key prefixes), a seeded
 * data set, the real server in production mode as a child process, one real worker process
 * (`dist/worker.js` of the same build, same environment and prefixes) and an in-process SMTP
 * sink (bench/smtp-sink.ts) for the whole run, so the work writes cause (outbox flush,
 * notification jobs, emails) is inside every measurement; then autocannon scenarios, RSS under
 * load, event-loop delay during login and register storms, the write matrix, the pgbench ceiling
 * of a create, the mixed load, the new-article fan-out to 10,000 followers (bench/fan-out.ts) and
 * the worker's throughput. Prints tables; every ratio is to `/health/live` of the same server in
 * the same run, so runs on different machines compare. Everything it creates is removed at the end.
 *
 * Scenarios (BENCH_ONLY names, substrings):
 *   - reads: "GET /api/tags", "anonymous list (cached)", "anonymous list (cache off)", "list by tag",
 *     "signed-in list", "signed-in list (1,000 viewers)", "feed", "single article", "comments";
 *   - the write matrix (bench/writes.ts; BENCH_ONLY=writes selects all of it): "create article",
 *     "update article", "delete article", "add comment", "delete comment", "favorite", "unfavorite",
 *     "follow", "unfollow", "settings update", each at BENCH_CONNECTIONS and as "<name> (1 conn)",
 *     by 1,999 writers nobody follows, on prepared targets so every request answers 2xx. Each row:
 *     server and worker CPU per request (the worker's counted until it has finished the jobs the
 *     run caused), lock waits sampled every 50 ms (bench/locks.ts), the N-conn / 1-conn ratio;
 *   - "login (storm)", "register (storm)" (argon2-bound; event-loop delay p99 reported);
 *   - exact names only: "pgbench" (bench/pgbench.ts: bench/pgbench/create-article.sql with
 *     BENCH_CONNECTIONS clients for BENCH_DURATION, then again with every trigger off; also runs
 *     with "writes" or "create article"),
 *     "mixed" (bench/mixed.ts: ~81 % reads / ~19 % writes by 1,000 users, per-window drift),
 *     "fan-out", "worker", "email" (bench/email-throughput.ts: BENCH_EMAILS emails, default 2,000,
 *     delivered by the worker into the sink, one job per email and then batched, alternating for
 *     BENCH_ROUNDS).
 *
 * Environment: BENCH_DATABASE_URL (a server URL; a database is created on it, default
 * postgres://postgres@127.0.0.1:5432/postgres), BENCH_REDIS_URL (default redis://127.0.0.1:6379),
 * BENCH_DURATION (seconds per scenario, default 6), BENCH_CONNECTIONS (default 32),
 * BENCH_ONLY (comma-separated scenario names), BENCH_TSX=1 (run the server's and worker's sources
 * through tsx instead of the build), BENCH_NODE_ARGS (extra node flags for the server, e.g.
 * "--cpu-prof --cpu-prof-dir=prof"), BENCH_WORKER_NODE_ARGS (the same for the worker),
 * BENCH_JSON (write the results as JSON to this file),
 * BENCH_MIXED_SECONDS (length of "mixed", default 180), BENCH_MIXED_WINDOW (its drift window,
 * default 30 s), BENCH_WRITE_POOL_RATE (req/s the prepared delete/unfavorite/unfollow targets
 * are sized for, default 3000: a faster run stops early and says so). pgbench is looked up on
 * PATH and in /usr/lib/postgresql/<version>/bin; without it the ceiling row says so and is skipped.
 *
 * Before/after in one run: BENCH_COMPARE_ROOT (a checkout of the previous state, e.g. made with
 * `git worktree add /tmp/before HEAD~1` or `git archive`, with node_modules linked) and/or
 * BENCH_COMPARE_ENV ("NAME=value NAME2=value") start a third server, "before", on the same
 * database; every selected scenario then also runs against it, right after the current one.
 * When that checkout has a bench/fan-out.ts, its fan-out is measured too, before the current one.
 * The uncached list gets its "before" too, from a fourth server with CACHE_ENABLED=false.
 * The one worker is the current tree's.
 *
 * BENCH_ROUNDS (default 1): every selected scenario (and its "before") runs that many times,
 * alternating, and each row reports the median round: noise on a shared machine moves both sides.
 * With BENCH_ONLY, the fan-out, the worker drain, email delivery, pgbench and mixed run only when
 * named.
 *
 * The database paths as the data grows (20,000 → 1,000,000 articles): `npm run bench:growth`
 * (bench/growth.ts). The helpers both use (run state, server start/stop, SMTP sink, /proc CPU and
 * RSS, cleanup) live in bench/harness.ts.
 */

const DURATION = Number(process.env.BENCH_DURATION ?? 6);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const ONLY = process.env.BENCH_ONLY?.split(',').map((s) => s.trim());
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 1));
const WORKER_JOBS = 10_000;
const WORKER_NODE_ARGS = process.env.BENCH_WORKER_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
const EMAILS = Number(process.env.BENCH_EMAILS ?? 2000);
const MIXED_SECONDS = Number(process.env.BENCH_MIXED_SECONDS ?? 180);
const MIXED_WINDOW = Number(process.env.BENCH_MIXED_WINDOW ?? 30);
/**
 * Prepared targets per consuming write route (delete article, delete comment, unfavorite,
 * unfollow) are sized for this rate (req/s) at CONNECTIONS and half of it at 1 connection, for
 * every round and warm-up: past it, a run stops early rather than answer 404s.
 */
const WRITE_POOL_RATE = Number(process.env.BENCH_WRITE_POOL_RATE ?? 3000);
/** The worker's backlog after a write scenario must be gone within this, or the run says so. */
const DRAIN_TIMEOUT_MS = 60_000;
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

/**
 * The worker as production runs it: the same build (or sources) as the server, `dist/worker.js`
 * with `npm run worker:prod`'s node flags, the same environment and prefixes, so it takes the
 * jobs the HTTP scenarios record (outbox flushes, notifications, emails to the SMTP sink).
 */
async function startWorkerProcess(): Promise<Server> {
  const args = (await serverArgs(ROOT)).map((arg) =>
    arg.endsWith('server.js')
      ? arg.replace(/server\.js$/, 'worker.js')
      : arg.replace(/server\.ts$/, 'worker.ts'),
  );
  const child = spawn(process.execPath, [...WORKER_NODE_ARGS, ...args], {
    cwd: ROOT,
    env: serverEnv(0),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const worker = { process: child, url: '' };
  servers.push(worker);
  // Its log (one line per job) is read and dropped; the first 'worker started' line means ready.
  await within(
    120_000,
    'worker start',
    new Promise<void>((resolve, reject) => {
      let seen = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        if (seen === 'ready') return;
        seen = (seen + chunk.toString('utf8')).slice(-4096);
        if (seen.includes('worker started')) {
          seen = 'ready';
          resolve();
        }
      });
      child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
    }),
  );
  return worker;
}

/**
 * Waits until the outbox has no due row left open (recorded or enqueued, not done): the jobs a
 * scenario caused have run. Seconds it took, or NaN past DRAIN_TIMEOUT_MS.
 */
async function drainWorker(sql: postgres.Sql, timeoutMs = DRAIN_TIMEOUT_MS): Promise<number> {
  const started = performance.now();
  for (let first = true; first || performance.now() - started < timeoutMs; first = false) {
    const [row] = await sql<{ open: number }[]>`
      select count(*)::int as open from job_outbox
      where status in ('pending', 'enqueued') and run_at <= now()`;
    if ((row?.open ?? 0) === 0) return (performance.now() - started) / 1000;
    await sleep(100);
  }
  return Number.NaN;
}

/**
 * Waits for the worker's start-up work (the recurring jobs' first runs: the weekly digest emails
 * the seeded readers) to be over: at least 5 s, then 3 s in a row with the outbox drained, no new
 * email at the sink and under 0.1 CPU s a second (up to 2 minutes: a busy machine is slow).
 */
async function settleWorker(sql: postgres.Sql, workerPid: number, received: () => number): Promise<void> {
  const began = performance.now();
  let quiet = 0;
  let cpu = cpuSeconds(workerPid);
  let emails = received();
  while (performance.now() - began < 120_000) {
    await sleep(1000);
    const drained = !Number.isNaN(await drainWorker(sql, 1));
    const nowCpu = cpuSeconds(workerPid);
    const nowEmails = received();
    quiet = drained && nowCpu - cpu < 0.1 && nowEmails === emails ? quiet + 1 : 0;
    cpu = nowCpu;
    emails = nowEmails;
    if (quiet >= 3 && performance.now() - began >= 5000) return;
  }
  log('the worker did not settle within 2 minutes of its start: measuring anyway');
}

function emailLine(r: EmailThroughput): string {
  return `email delivery (${r.mode}): ${r.emails} emails in ${r.jobs} jobs sent into the SMTP sink in ${r.seconds.toFixed(2)} s = ${Math.round(r.emailsPerSecond)} emails/s, worker CPU ${Math.round(r.workerCpuUsPerEmail)} µs/email, SMTP sink CPU ${Math.round(r.sinkCpuUsPerEmail)} µs/email`;
}

/** prom-client resets its event-loop histogram on every scrape: read once before, once after. */
async function eventLoopP99Ms(server: Server): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const value = /^nodejs_eventloop_lag_p99_seconds (\S+)/m.exec(text)?.[1];
  return Number(value ?? Number.NaN) * 1000;
}

async function measure(server: Server, scenario: Scenario, duration: number): Promise<Result> {
  const left = scenario.remaining?.();
  return autocannon({
    url: server.url,
    connections: Math.min(scenario.connections ?? CONNECTIONS, left ?? Number.POSITIVE_INFINITY),
    duration,
    requests: [scenario.request],
    ...(left === undefined ? {} : { maxOverallRequests: left }),
  });
}

function table(rows: Row[]): string {
  const lines = [
    '| scenario | req/s | p50 ms | p99 ms | errors/non-2xx | ratio to baseline | server CPU µs/req | worker CPU µs/req | peak RSS MB |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${r.errors} | ${r.ratio.toFixed(2)} | ${Math.round(r.cpuUs)} | ${Math.round(r.workerCpuUs)} | ${r.rss.toFixed(0)} |`,
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

/** Whether a scenario name is selected by BENCH_ONLY (a substring of it; "writes": the write matrix). */
const selects = (name: string, write = false) =>
  !ONLY || ONLY.some((o) => name.includes(o)) || (write && ONLY.includes('writes'));

async function main(): Promise<void> {
  const started = performance.now();
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  let sink: SmtpSink | undefined;
  let benchDb: postgres.Sql | undefined;
  process.once('SIGINT', () => {
    void benchDb
      ?.end({ timeout: 1 })
      .then(() => cleanup(admin))
      .finally(() => process.exit(130));
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
    // The bench's own connection to the bench database: write targets, lock sampling, drains.
    benchDb = postgres(databaseUrl(), { max: 2, onnotice: () => {} });
    const sql = benchDb;

    const wanted = (name: string) => !ONLY || ONLY.includes(name);
    const wantsWrites = WRITE_ROUTES.some(
      (route) => selects(route, true) || selects(singleConnection(route)),
    );
    const wantsPgbench =
      wanted('pgbench') || wanted('writes') || (ONLY?.some((o) => 'create article'.includes(o)) ?? false);
    let targets: WriteTargets | undefined;
    if (wantsWrites || wantsPgbench) {
      const preparing = performance.now();
      // Per round: DURATION + 1 s of warm-up at the pool rate (N connections) and half of it (1 connection).
      const pool = Math.ceil(ROUNDS * (DURATION + 1) * WRITE_POOL_RATE * 1.5 * (COMPARE ? 2 : 1));
      targets = await prepareWriteTargets(sql, seeded.slugs, pool);
      log(
        `write targets: ${pool} per consuming route, in ${((performance.now() - preparing) / 1000).toFixed(1)} s`,
      );
    }

    sink = await startSink();
    const workerProcess = await startWorkerProcess();
    const workerPid = workerProcess.process.pid ?? 0;
    // Its start-up work (the recurring jobs' first runs: the weekly digest emails the seeded
    // readers) is done before anything is measured.
    const startupBegan = performance.now();
    await settleWorker(sql, workerPid, () => sink?.received() ?? 0);
    const startupDrain = (performance.now() - startupBegan) / 1000;
    const startupEmails = sink.received();
    log(
      `worker ${workerPid} started; its start-up jobs done in ${startupDrain.toFixed(1)} s (${startupEmails} emails to the SMTP sink at ${sink.url})`,
    );

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
    let registered = 0;
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
      ...(targets
        ? writeScenarios(
            targets,
            await Promise.all(targets.writerIds.map((id) => signer.sign({ id, tokenVersion: 0 }))),
            runId,
            CONNECTIONS,
          )
        : []),
      {
        name: 'login (storm)',
        server: 'cached',
        request: {
          method: 'POST',
          path: '/api/users/login',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ user: { email: 'user7@example.com', password: BENCH_PASSWORD } }),
        },
        storm: true,
      },
      {
        // A new account per request (argon2 hash, the user row, the verification email).
        name: 'register (storm)',
        server: 'cached',
        request: {
          method: 'POST',
          path: '/api/users',
          headers: { 'content-type': 'application/json' },
          setupRequest: (request) => {
            const n = ++registered;
            return {
              ...request,
              body: JSON.stringify({
                user: {
                  username: `r${runId}-${n}`,
                  email: `r${runId}-${n}@example.com`,
                  password: BENCH_PASSWORD,
                },
              }),
            };
          },
        },
        storm: true,
      },
    ];
    const selected = scenarios
      .filter((s) => s.name.startsWith('baseline') || selects(s.name, s.write))
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
    interface Round {
      result: Result;
      rss: number;
      eventLoopP99: number;
      cpuUs: number;
      workerCpuUs: number;
      lockWaits?: LockWaits;
      drainSeconds?: number;
    }
    /** One run of a scenario; write scenarios sample lock waits and wait for the worker after it. */
    const runOnce = async (scenario: Scenario, server: Server): Promise<Round | undefined> => {
      if (scenario.remaining?.() === 0) {
        log(`${scenario.name}: no prepared targets left (raise BENCH_WRITE_POOL_RATE), skipped`);
        return undefined;
      }
      if (scenario.storm) await eventLoopP99Ms(server); // resets the histogram
      const serverPid = server.process.pid ?? pid;
      const cpuBefore = cpuSeconds(serverPid);
      const workerBefore = cpuSeconds(workerPid);
      const sampler = scenario.write ? sampleLockWaits(sql) : undefined;
      const result = await measure(server, scenario, DURATION);
      const lockWaits = await sampler?.stop();
      const cpuUs = ((cpuSeconds(serverPid) - cpuBefore) * 1e6) / (result.requests.total || 1);
      const drainSeconds = scenario.write ? await drainWorker(sql) : undefined;
      const workerCpuUs = ((cpuSeconds(workerPid) - workerBefore) * 1e6) / (result.requests.total || 1);
      const loopP99 = scenario.storm ? await eventLoopP99Ms(server) : Number.NaN;
      if (scenario.remaining?.() === 0) log(`${scenario.name}: ran out of prepared targets during the run`);
      if (drainSeconds !== undefined && Number.isNaN(drainSeconds))
        log(`${scenario.name}: the worker's backlog was not gone ${DRAIN_TIMEOUT_MS / 1000} s after the run`);
      log(
        `${scenario.name}: ${Math.round(result.requests.average)} req/s, p99 ${result.latency.p99} ms${result.non2xx ? `, non-2xx ${JSON.stringify(result.statusCodeStats)}` : ''}${lockWaits?.total ? `, lock waits ${describeLockWaits(lockWaits)}` : ''}`,
      );
      return {
        result,
        rss: scenarioRss,
        eventLoopP99: loopP99,
        cpuUs,
        workerCpuUs,
        ...(lockWaits ? { lockWaits } : {}),
        ...(drainSeconds === undefined ? {} : { drainSeconds }),
      };
    };
    for (const group of groups) {
      const rounds = new Map<Scenario, Round[]>(group.map((scenario) => [scenario, []]));
      for (let round = 0; round < ROUNDS; round++) {
        for (const scenario of group) {
          const server = servers[scenario.server];
          sampled = server.process.pid ?? pid;
          scenarioRss = 0;
          if (round === 0) {
            await measure(server, scenario, 1); // per-scenario warm-up (fills its cache entry)
            if (scenario.write) await drainWorker(sql);
          }
          const measured = await runOnce(scenario, server);
          if (measured) rounds.get(scenario)?.push(measured);
        }
      }
      for (const [scenario, results] of rounds) {
        if (results.length === 0) continue;
        const rps = median(results.map(({ result }) => result.requests.average));
        if (scenario.name === 'baseline GET /health/live') baseline = rps;
        const loopP99 = median(results.map((r) => r.eventLoopP99));
        if (!Number.isNaN(loopP99)) {
          if (scenario.server.startsWith('before'))
            log(`event-loop delay p99 (${scenario.name}): ${loopP99.toFixed(1)} ms`);
          else if (scenario.name.startsWith('login')) eventLoopP99 = loopP99;
        }
        // The lock waits of the median round (by req/s).
        const middle = [...results].sort((a, b) => a.result.requests.average - b.result.requests.average)[
          Math.floor(results.length / 2)
        ];
        const drains = results.flatMap((r) => (r.drainSeconds === undefined ? [] : [r.drainSeconds]));
        rows.push({
          name: scenario.name,
          connections: scenario.connections ?? CONNECTIONS,
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
          workerCpuUs: median(results.map((r) => r.workerCpuUs)),
          ...(Number.isNaN(loopP99) ? {} : { eventLoopP99: loopP99 }),
          ...(middle?.lockWaits ? { lockWaits: middle.lockWaits } : {}),
          ...(drains.length > 0 ? { drainSeconds: median(drains) } : {}),
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

    // The database's ceiling for a create: pgbench replaying its statements (bench/pgbench.ts).
    let pgbench: PgbenchResult | undefined;
    let bareStatements: PgbenchResult | undefined;
    let pgbenchMissing = false;
    if (wantsPgbench && targets) {
      const binary = await findPgbench();
      const { writerIds } = targets;
      const replay = (label: string, triggers: boolean) =>
        binary === undefined
          ? Promise.resolve(undefined)
          : runPgbench({
              binary,
              databaseUrl: databaseUrl(),
              sql,
              clients: CONNECTIONS,
              seconds: DURATION,
              authorIds: writerIds,
              triggers,
            }).catch((error: unknown) => {
              const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
              log(`!!! ${label} failed: ${String(error).split('\n')[0]}\n${stdout}${stderr.slice(0, 2000)}`);
              return undefined;
            });
      pgbench = await replay('pgbench', true);
      if (pgbench) {
        log(
          `pgbench create-article: ${Math.round(pgbench.tps)} TPS, latency ${pgbench.latencyMs} ms, failed ${pgbench.failed}, lock waits ${describeLockWaits(pgbench.lockWaits)}`,
        );
        // The machine's own limit for these statements, without the schema's triggers.
        bareStatements = await replay('pgbench without triggers', false);
        if (bareStatements) {
          log(`pgbench create-article, triggers off: ${Math.round(bareStatements.tps)} TPS`);
        }
      } else if (!binary) {
        pgbenchMissing = true;
        log(
          '!!! pgbench NOT FOUND (apt-get install postgresql-contrib / postgresql-client): the ceiling row is skipped !!!',
        );
      }
      await drainWorker(sql);
    }

    // Minutes of mixed traffic, with the worker and the SMTP sink carrying their share.
    let mixed: MixedResult | undefined;
    if (wanted('mixed')) {
      log(`mixed: ${MIXED_SECONDS} s at ${CONNECTIONS} connections`);
      const sampler = sampleLockWaits(sql);
      mixed = await runMixed({
        url: cached.url,
        connections: CONNECTIONS,
        seconds: MIXED_SECONDS,
        windowSeconds: MIXED_WINDOW,
        slugs,
        viewerTokens,
        tags: 50,
        runId,
        serverPid: pid,
        workerPid,
      });
      mixed.lockWaits = await sampler.stop();
      log(`mixed: ${Math.round(mixed.result.requests.average)} req/s, p99 ${mixed.result.latency.p99} ms`);
      const drained = await drainWorker(sql);
      log(`mixed: the worker's backlog was gone ${drained.toFixed(1)} s after the run`);
    }

    const fanOutConfig = (queuePrefix: string) =>
      loadConfig({
        ...serverEnv(0),
        QUEUE_PREFIX: queuePrefix,
        LOG_LEVEL: 'warn',
        WORKER_CONCURRENCY: process.env.BENCH_WORKER_CONCURRENCY,
      });
    const fanOutLine = (label: string, r: FanOutResult) =>
      `fan-out${label}: the send jobs of ${r.followers} emails queued in ${r.queuedSeconds.toFixed(2)} s (${r.batches} fan-out jobs; the first picked up ${(r.pickupSeconds * 1000).toFixed(0)} ms after publishing)`;
    // The previous tree's fan-out (its bench/fan-out.ts and src/), first, on the same data.
    const compareFanOut = COMPARE_ROOT ? path.join(COMPARE_ROOT, 'bench/fan-out.ts') : undefined;
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
    // Email delivery by the worker process into the sink: one job per email, then batched.
    const emailThroughput: EmailThroughput[] = [];
    if (wanted('email')) {
      for (let round = 0; round < ROUNDS; round++) {
        for (const mode of ['one per job', 'batched'] as const) {
          const result = await measureEmailThroughput(loadConfig({ ...serverEnv(0), LOG_LEVEL: 'warn' }), {
            mode,
            emails: EMAILS,
            runId: `${runId}-${round}`,
            workerPid,
            received: () => sink?.received() ?? 0,
          });
          emailThroughput.push(result);
          log(emailLine(result));
          await drainWorker(sql);
        }
      }
    }
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
    const createRow = rowsByName.get('create article');
    const registerRow = rowsByName.get('register (storm)');
    const sharedWaits = createRow?.lockWaits?.total;
    const ceilingShare = createRow && pgbench ? createRow.rps / pgbench.tps : undefined;
    const mixedFirst = mixed?.windows[0]?.rps;
    const mixedLast = mixed?.windows.at(-1)?.rps;
    const mixedDrift = mixedFirst && mixedLast ? mixedLast / mixedFirst : undefined;
    const mixedErrors = mixed ? mixed.result.errors + mixed.result.timeouts + mixed.result.non2xx : 0;
    const checks = [
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
      ...writeChecks(rows, check),
      check(
        `create article (${CONNECTIONS} conn): zero lock waits`,
        sharedWaits === undefined ? undefined : sharedWaits === 0,
        createRow?.lockWaits ? describeLockWaits(createRow.lockWaits) : '-',
      ),
      check(
        'create article req/s ≥ 40 % of pgbench create-article TPS',
        ceilingShare === undefined ? undefined : ceilingShare >= 0.4,
        pgbenchMissing
          ? 'PGBENCH MISSING'
          : pgbench
            ? `${Math.round(createRow?.rps ?? 0)} / ${Math.round(pgbench.tps)} = ${ceilingShare === undefined ? '-' : `${(ceilingShare * 100).toFixed(1)} %`}`
            : '-',
      ),
      check(
        'event-loop delay p99 ≤ 20 ms (register storm)',
        registerRow?.eventLoopP99 === undefined ? undefined : registerRow.eventLoopP99 <= 20,
        registerRow?.eventLoopP99 === undefined
          ? '-'
          : `${registerRow.eventLoopP99.toFixed(1)} ms (${Math.round(registerRow.rps)} req/s)`,
      ),
      check(
        `mixed ≥ 3,000 req/s at ${CONNECTIONS} connections`,
        mixed && mixed.result.requests.average >= 3000,
        mixed ? `${Math.round(mixed.result.requests.average)} req/s` : '-',
      ),
      check(
        'mixed p99 ≤ 50 ms',
        mixed && mixed.result.latency.p99 <= 50,
        mixed ? `${mixed.result.latency.p99} ms` : '-',
      ),
      check(
        'mixed flat: last window ≥ 0.9 × first',
        mixedDrift === undefined ? undefined : mixedDrift >= 0.9,
        mixedDrift === undefined ? '-' : `${mixedDrift.toFixed(2)}`,
      ),
      check('mixed: no errors', mixed ? mixedErrors === 0 : undefined, mixed ? String(mixedErrors) : '-'),
    ];

    const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${new Date().toISOString()}`;
    const writeNames = new Set(WRITE_ROUTES.flatMap((route) => [route, singleConnection(route)]));
    const writes = writeTable(rows);
    const output = [
      `Machine: ${machine}`,
      `Duration ${DURATION} s per scenario, ${CONNECTIONS} connections (login, register: 32), one worker process, SMTP sink`,
      '',
      table(rows.filter((row) => !writeNames.has(row.name))),
      '',
      ...(writes ? [writes, ''] : []),
      ...lockWaitLines(rows),
      ...(pgbench
        ? [
            `pgbench create-article (${CONNECTIONS} clients, ${DURATION} s): ${Math.round(pgbench.tps)} TPS, latency ${pgbench.latencyMs} ms, failed ${pgbench.failed}, lock waits ${describeLockWaits(pgbench.lockWaits)}; database backends (mean): ${describeActivity(pgbench.lockWaits)}`,
            ...(bareStatements
              ? [
                  `pgbench create-article with every trigger off (no counters, tag lists or foreign-key checks): ${Math.round(bareStatements.tps)} TPS, latency ${bareStatements.latencyMs} ms, failed ${bareStatements.failed}`,
                ]
              : []),
          ]
        : pgbenchMissing
          ? ['pgbench: NOT FOUND, ceiling skipped']
          : []),
      ...(mixed ? ['', mixedReport(mixed, MIXED_WINDOW)] : []),
      '',
      ...(emailThroughput.length > 0 ? [...emailThroughput.map(emailLine), ''] : []),
      `Worker: ${cpuSeconds(workerPid).toFixed(1)} CPU s in all, RSS ${rssMb(workerPid).toFixed(0)} MB at the end; SMTP sink received ${sink.received()} emails (${startupEmails} of them at the worker's start: the weekly digest)`,
      '',
      checks.join('\n'),
      '',
      `Whole run: ${((performance.now() - started) / 1000).toFixed(0)} s (seed ${seeded.seconds.toFixed(1)} s)`,
    ].join('\n');
    process.stdout.write(`${output}\n`);
    if (process.env.BENCH_JSON) {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(
        process.env.BENCH_JSON,
        JSON.stringify(
          {
            machine,
            rows,
            peakRss,
            eventLoopP99,
            worker,
            fanOut,
            fanOutBefore,
            emailThroughput,
            pgbench,
            pgbenchWithoutTriggers: bareStatements,
            mixed: mixed && { ...mixed, result: undefined },
            emails: sink.received(),
          },
          null,
          2,
        ),
      );
    }
  } finally {
    await benchDb?.end({ timeout: 5 });
    await cleanup(admin);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
