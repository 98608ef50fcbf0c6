import autocannon, { type Request, type Result } from 'autocannon';
import { cpuSeconds, rssMb } from './harness.js';
import { describeActivity, describeLockWaits, type LockWaits } from './locks.js';
import { prose, tagPicker, zipf } from './zipf.js';

/**
 * The 'mixed' scenario: minutes of a site's traffic at CONNECTIONS connections, ~81 % reads and
 * ~19 % writes, from many signed-in users (the seed's 1,000), with popularity skewed toward the
 * newest articles and the common tags. Every request is drawn from MIX by weight. Its writes
 * notify: comments email the article's author, creates email the author's followers (~40 in
 * the seed), so the worker and the SMTP sink carry their share. Reported per window
 * (req/s, p99, errors, server RSS), to show drift over time, and overall.
 */

interface Op {
  kind: string;
  weight: number;
  write?: boolean;
  build(): { method?: Request['method']; path: string; token?: string; body?: unknown };
}

export interface MixedContext {
  url: string;
  connections: number;
  seconds: number;
  windowSeconds: number;
  /** The seed's articles, oldest first. */
  slugs: readonly string[];
  viewerTokens: readonly string[];
  tags: number;
  runId: string;
  serverPid: number;
  workerPid: number | undefined;
}

export interface MixedWindow {
  rps: number;
  p99: number;
  errors: number;
  /** The server's peak RSS in the window, MB. */
  rss: number;
}

export interface MixedResult {
  result: Result;
  /** Filled in by the caller, which samples them around the run. */
  lockWaits?: LockWaits;
  windows: MixedWindow[];
  /** Requests sent per kind (the mix as it happened). */
  sent: Record<string, number>;
  writeShare: number;
  serverCpuUs: number;
  workerCpuUs: number;
  /** This process (autocannon, the SMTP sink): if it nears a core, the client is the limit. */
  clientCpuUs: number;
}

function mix(context: MixedContext): Op[] {
  const { slugs, viewerTokens } = context;
  const viewer = () => viewerTokens[Math.floor(Math.random() * viewerTokens.length)];
  // Popularity: the newest articles, Zipf over the 2,000 newest.
  const popular = zipf(Math.min(2000, slugs.length));
  const slug = () => slugs[slugs.length - 1 - popular()];
  const tag = zipf(context.tags);
  const pickTags = tagPicker(context.tags);
  const offsets = [0, 0, 0, 0, 20, 20, 40, 100, 400];
  const offset = () => offsets[Math.floor(Math.random() * offsets.length)];
  let created = 0;
  return [
    { kind: 'list', weight: 14, build: () => ({ path: `/api/articles?limit=20&offset=${offset()}` }) },
    {
      kind: 'list (signed in)',
      weight: 10,
      build: () => ({ path: `/api/articles?limit=20&offset=${offset()}`, token: viewer() }),
    },
    {
      kind: 'list by tag',
      weight: 12,
      build: () => ({
        path: `/api/articles?tag=tag${tag()}&limit=20&offset=${Math.random() < 0.8 ? 0 : 20}`,
        ...(Math.random() < 0.5 ? { token: viewer() } : {}),
      }),
    },
    {
      kind: 'feed',
      weight: 12,
      build: () => ({
        path: `/api/articles/feed?limit=20&offset=${Math.random() < 0.8 ? 0 : 20}`,
        token: viewer(),
      }),
    },
    {
      kind: 'article',
      weight: 18,
      build: () => ({ path: `/api/articles/${slug()}`, ...(Math.random() < 0.5 ? { token: viewer() } : {}) }),
    },
    { kind: 'comments', weight: 10, build: () => ({ path: `/api/articles/${slug()}/comments` }) },
    { kind: 'tags', weight: 5, build: () => ({ path: '/api/tags' }) },
    {
      kind: 'add comment',
      weight: 10,
      write: true,
      build: () => ({
        method: 'POST',
        path: `/api/articles/${slug()}/comments`,
        token: viewer(),
        body: { comment: { body: prose(80, 500) } },
      }),
    },
    {
      kind: 'favorite toggle',
      weight: 8,
      write: true,
      build: () => ({
        method: Math.random() < 0.5 ? 'POST' : 'DELETE',
        path: `/api/articles/${slug()}/favorite`,
        token: viewer(),
      }),
    },
    {
      kind: 'create article',
      weight: 1,
      write: true,
      build: () => ({
        method: 'POST',
        path: '/api/articles',
        token: viewer(),
        body: {
          article: {
            title: `Mixed ${context.runId} ${++created}`,
            description: prose(40, 160),
            body: prose(1024, 2048),
            tagList: pickTags(),
          },
        },
      }),
    },
  ];
}

function p99(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = values.sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? Number.NaN;
}

export async function runMixed(context: MixedContext): Promise<MixedResult> {
  const ops = mix(context);
  const totalWeight = ops.reduce((sum, op) => sum + op.weight, 0);
  const sent: Record<string, number> = {};
  let writes = 0;
  let all = 0;
  const draw = () => {
    let target = Math.random() * totalWeight;
    for (const op of ops) {
      target -= op.weight;
      if (target < 0) return op;
    }
    return ops[0] as Op;
  };

  const started = Date.now();
  const windowMs = context.windowSeconds * 1000;
  const windows: { count: number; latencies: number[]; errors: number; rss: number }[] = [];
  const windowAt = (time: number) => {
    const index = Math.floor((time - started) / windowMs);
    while (windows.length <= index) windows.push({ count: 0, latencies: [], errors: 0, rss: 0 });
    return windows[index] as (typeof windows)[number];
  };
  const rssTimer = setInterval(() => {
    const window = windowAt(Date.now());
    window.rss = Math.max(window.rss, rssMb(context.serverPid));
  }, 1000);

  const serverCpu = cpuSeconds(context.serverPid);
  const workerCpu = context.workerPid ? cpuSeconds(context.workerPid) : 0;
  const clientCpu = process.cpuUsage();
  const instance = autocannon({
    url: context.url,
    connections: context.connections,
    duration: context.seconds,
    requests: [
      {
        path: '/',
        setupRequest: (base) => {
          const op = draw();
          const { method = 'GET', path, token, body } = op.build();
          sent[op.kind] = (sent[op.kind] ?? 0) + 1;
          all += 1;
          if (op.write) writes += 1;
          return {
            ...base,
            method,
            path,
            headers: {
              ...(token ? { authorization: `Token ${token}` } : {}),
              ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            },
            ...(body === undefined ? { body: undefined } : { body: JSON.stringify(body) }),
          };
        },
      },
    ],
  });
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    const window = windowAt(Date.now());
    window.count += 1;
    window.latencies.push(responseTime);
    if (statusCode < 200 || statusCode >= 300) window.errors += 1;
  });
  const result = await instance;
  clearInterval(rssTimer);
  const total = result.requests.total || 1;
  const serverCpuUs = ((cpuSeconds(context.serverPid) - serverCpu) * 1e6) / total;
  const workerCpuUs = context.workerPid ? ((cpuSeconds(context.workerPid) - workerCpu) * 1e6) / total : 0;
  const client = process.cpuUsage(clientCpu);
  const clientCpuUs = (client.user + client.system) / total;

  // Whole windows only: the responses after the duration (the last in-flight ones) start a stub.
  const whole = windows.slice(0, Math.floor(context.seconds / context.windowSeconds));
  return {
    result,
    windows: whole.map((w) => ({
      rps: w.count / context.windowSeconds,
      p99: p99(w.latencies),
      errors: w.errors,
      rss: w.rss,
    })),
    sent,
    writeShare: all ? writes / all : 0,
    serverCpuUs,
    workerCpuUs,
    clientCpuUs,
  };
}

export function mixedReport(mixed: MixedResult, windowSeconds: number): string {
  const { result, windows } = mixed;
  const first = windows[0]?.rps ?? Number.NaN;
  const last = windows.at(-1)?.rps ?? Number.NaN;
  const lines = [
    `Mixed: ${Math.round(result.requests.average)} req/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, errors/non-2xx ${result.errors + result.timeouts + result.non2xx}, writes ${(mixed.writeShare * 100).toFixed(1)} %, server CPU ${Math.round(mixed.serverCpuUs)} µs/req, worker CPU ${Math.round(mixed.workerCpuUs)} µs/req, bench client CPU ${Math.round(mixed.clientCpuUs)} µs/req`,
    ...(mixed.lockWaits
      ? [
          `Mixed lock waits: ${describeLockWaits(mixed.lockWaits)}; database backends (mean): ${describeActivity(mixed.lockWaits) || 'none busy'}`,
        ]
      : []),
    `Mixed sent: ${Object.entries(mixed.sent)
      .map(([kind, n]) => `${kind} ${n}`)
      .join(', ')}`,
    '',
    `| mixed window (${windowSeconds} s) | req/s | p99 ms | errors/non-2xx | server RSS MB |`,
    '|---|---:|---:|---:|---:|',
    ...windows.map(
      (w, i) =>
        `| ${i * windowSeconds}–${(i + 1) * windowSeconds} s | ${Math.round(w.rps)} | ${Math.round(w.p99)} | ${w.errors} | ${w.rss.toFixed(0)} |`,
    ),
    '',
    `Mixed drift: last window / first window = ${(last / first).toFixed(2)}`,
  ];
  return lines.join('\n');
}
