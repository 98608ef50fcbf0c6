import type { Request } from 'autocannon';
import type postgres from 'postgres';
import { describeActivity, describeLockWaits } from './locks.js';
import type { Row, Scenario } from './scenario.js';
import { prose, tagPicker } from './zipf.js';

/**
 * The write matrix: every write route at CONNECTIONS and at 1 connection, by writers whose
 * actions notify nobody, so a row measures the write itself (its transaction, the outbox flush,
 * the worker's follow-up job) and not an email fan-out:
 *
 *   - WRITERS users nobody follows (`writer0`…), added after the seed, each with two articles of
 *     their own ("own" articles: updated and commented on by their author: no new-comment email);
 *   - follow targets (`quietf…`, `quietu…`) whose new-follower emails are switched off;
 *   - prepared targets, bulk-inserted before anything runs, for the routes that consume one per
 *     request: articles to delete, comments to delete, favorites to remove, follows to remove.
 *     A scenario sends at most as many requests as targets are left (autocannon's
 *     maxOverallRequests), so every request finds its target and answers 2xx.
 *
 * Request n of a route is sent by writer n % WRITERS: consecutive requests (the ones in flight
 * together) come from different users and touch different rows. WRITERS is prime (and so coprime
 * with the 500 follow targets and the 10,000 articles favorites use): the pair (writer, target)
 * of request n repeats only after millions of requests, so favorite and follow always insert.
 * Prepared articles and own articles are published 800+ days ago: the end of every list, so the
 * read scenarios see the seeded data set.
 */

export const WRITERS = 1999;
/** Follow targets per set (follow / unfollow). */
const QUIET = 500;

interface Pool<T> {
  items: T[];
  next: number;
}

function take<T>(pool: Pool<T>): T {
  const item = pool.items[pool.next++ % pool.items.length];
  if (item === undefined) throw new Error('empty pool');
  return item;
}

const remaining = (pool: Pool<unknown>) => Math.max(0, pool.items.length - pool.next);

export interface WriteTargets {
  writerIds: number[];
  /** Two published articles per writer, by writer index. */
  ownSlugs: [string, string][];
  /** Seeded articles favorited by request n (the even ones; the odd ones carry the prepared favorites). */
  favoriteSlugs: string[];
  deleteArticles: Pool<{ writer: number; slug: string }>;
  deleteComments: Pool<{ writer: number; slug: string; id: number }>;
  unfavorites: Pool<{ writer: number; slug: string }>;
  unfollows: Pool<{ writer: number; username: string }>;
}

/**
 * Adds the writers, the follow targets and `pool` prepared targets per consuming route, in bulk
 * (a few seconds for 30,000 of each). `seededSlugs` are the seed's articles (bench/seed.ts).
 */
export async function prepareWriteTargets(
  sql: postgres.Sql,
  seededSlugs: readonly string[],
  pool: number,
): Promise<WriteTargets> {
  const [hash] = await sql<{ password_hash: string }[]>`select password_hash from users order by id limit 1`;
  if (!hash) throw new Error('writes: the database has no users (seed first)');
  const writerIds = (
    await sql<{ id: number }[]>`
      insert into users (username, email, password_hash, bio)
      select 'writer' || i, 'writer' || i || '@example.com', ${hash.password_hash}, 'Writes for the benchmark'
      from generate_series(0, ${WRITERS - 1}) i order by i
      returning id`
  ).map((row) => row.id);
  writerIds.sort((a, b) => a - b);
  const quiet = async (prefix: string) => {
    const ids = (
      await sql<{ id: number }[]>`
        insert into users (username, email, password_hash)
        select ${prefix} || i, ${prefix} || i || '@example.com', ${hash.password_hash}
        from generate_series(0, ${QUIET - 1}) i order by i
        returning id`
    ).map((row) => row.id);
    await sql`
      insert into notification_preferences (user_id, new_follower)
      select unnest(${sql.array(ids)}::int[]), false`;
    return ids.sort((a, b) => a - b);
  };
  const quietUnfollow = await quiet('quietu');
  await quiet('quietf');

  // Own articles ('wown-<writer>-<k>') and articles to delete ('wdel-<n>', by writer n % WRITERS),
  // published long ago, then 1–3 tags each (the seed's skew: low tag numbers more often).
  await sql`
    insert into articles (slug, title, description, body, author_id, created_at, updated_at, published_at)
    select 'wown-' || i || '-' || k, 'Own article ' || i || ' ' || k, 'Updated by its author',
           repeat('lorem ipsum dolor sit amet ', 50), (${sql.array(writerIds)}::int[])[1 + i], t, t, t
    from generate_series(0, ${WRITERS - 1}) i, generate_series(0, 1) k,
         lateral (select now() - interval '800 days' - (i * 2 + k) * interval '1 minute' as t) x`;
  await sql`
    insert into articles (slug, title, description, body, author_id, created_at, updated_at, published_at)
    select 'wdel-' || n, 'Doomed article ' || n, 'Deleted by its author',
           repeat('lorem ipsum dolor sit amet ', 50), (${sql.array(writerIds)}::int[])[1 + n % ${WRITERS}], t, t, t
    from generate_series(0, ${pool - 1}) n,
         lateral (select now() - interval '900 days' - n * interval '1 second' as t) x`;
  await sql`
    insert into article_tags (article_id, tag_id)
    select distinct x.id, tags.id
    from (
      select a.id, 'tag' || floor(random() * random() * 50)::int as name
      from articles a, generate_series(1, 1 + a.id % 3) g
      where a.slug like 'wown-%' or a.slug like 'wdel-%'
    ) x join tags on tags.name = x.name`;

  // Comments to delete: by writer n % WRITERS on their own first article.
  const comments = await sql<{ id: number }[]>`
    insert into comments (body, article_id, author_id)
    select 'A comment its author deletes ' || n, a.id, a.author_id
    from generate_series(0, ${pool - 1}) n join articles a on a.slug = 'wown-' || (n % ${WRITERS}) || '-0'
    order by n
    returning id`;
  const commentIds = comments.map((row) => row.id).sort((a, b) => a - b);

  // Favorites to remove: writer n % WRITERS, the (n % half)-th odd seeded article.
  const half = Math.floor(seededSlugs.length / 2);
  const unfavoriteItems = Array.from({ length: pool }, (_, n) => ({
    writer: n % WRITERS,
    slug: seededSlugs[2 * (n % half) + 1] ?? '',
  }));
  for (let i = 0; i < pool; i += 10_000) {
    const batch = unfavoriteItems.slice(i, i + 10_000);
    await sql`
      insert into favorites (user_id, article_id)
      select x.u, a.id
      from unnest(${sql.array(batch.map((f) => writerIds[f.writer] ?? 0))}::int[], ${sql.array(batch.map((f) => f.slug))}::text[]) as x(u, s)
      join articles a on a.slug = x.s`;
  }
  await sql`
    update articles set favorites_count = (select count(*) from favorites f where f.article_id = articles.id)
    where id in (select article_id from favorites where user_id = any(${sql.array(writerIds)}::int[]))`;

  // Follows to remove: writer n % WRITERS follows quietu<n % QUIET>.
  await sql`
    insert into follows (follower_id, following_id)
    select (${sql.array(writerIds)}::int[])[1 + n % ${WRITERS}], (${sql.array(quietUnfollow)}::int[])[1 + n % ${QUIET}]
    from generate_series(0, ${pool - 1}) n`;
  await sql`vacuum analyze`;

  return {
    writerIds,
    ownSlugs: writerIds.map((_, i) => [`wown-${i}-0`, `wown-${i}-1`]),
    favoriteSlugs: Array.from({ length: half }, (_, k) => seededSlugs[2 * k] ?? ''),
    deleteArticles: {
      items: Array.from({ length: pool }, (_, n) => ({ writer: n % WRITERS, slug: `wdel-${n}` })),
      next: 0,
    },
    deleteComments: {
      items: commentIds.map((id, n) => ({ writer: n % WRITERS, slug: `wown-${n % WRITERS}-0`, id })),
      next: 0,
    },
    unfavorites: { items: unfavoriteItems, next: 0 },
    unfollows: {
      items: Array.from({ length: pool }, (_, n) => ({
        writer: n % WRITERS,
        username: `quietu${n % QUIET}`,
      })),
      next: 0,
    },
  };
}

interface WriteRoute {
  name: string;
  method: NonNullable<Request['method']>;
  /** Request n: its path, its writer (index) and body. */
  next(): { path: string; writer: number; body?: unknown };
  remaining?: () => number;
}

function routes(targets: WriteTargets, runId: string): WriteRoute[] {
  const pickTags = tagPicker(50);
  const counters = new Map<string, number>();
  const count = (name: string) => {
    const n = counters.get(name) ?? 0;
    counters.set(name, n + 1);
    return n;
  };
  const article = (title: string) => ({
    article: {
      title,
      description: prose(40, 160),
      body: prose(1024, 2048),
      tagList: pickTags(),
    },
  });
  return [
    {
      name: 'create article',
      method: 'POST',
      next: () => {
        const n = count('create');
        return { path: '/api/articles', writer: n % WRITERS, body: article(`Benchmark ${runId} ${n}`) };
      },
    },
    {
      name: 'update article',
      method: 'PUT',
      next: () => {
        const n = count('update');
        const writer = n % WRITERS;
        // Same title (so the slug stays), new description, body and tags.
        const { title: _, ...changes } = article('').article;
        const slug = targets.ownSlugs[writer]?.[Math.floor(n / WRITERS) % 2] ?? '';
        return { path: `/api/articles/${slug}`, writer, body: { article: changes } };
      },
    },
    {
      name: 'delete article',
      method: 'DELETE',
      next: () => {
        const { writer, slug } = take(targets.deleteArticles);
        return { path: `/api/articles/${slug}`, writer };
      },
      remaining: () => remaining(targets.deleteArticles),
    },
    {
      name: 'add comment',
      method: 'POST',
      next: () => {
        const writer = count('comment') % WRITERS;
        return {
          path: `/api/articles/${targets.ownSlugs[writer]?.[0]}/comments`,
          writer,
          body: { comment: { body: prose(100, 600) } },
        };
      },
    },
    {
      name: 'delete comment',
      method: 'DELETE',
      next: () => {
        const { writer, slug, id } = take(targets.deleteComments);
        return { path: `/api/articles/${slug}/comments/${id}`, writer };
      },
      remaining: () => remaining(targets.deleteComments),
    },
    {
      name: 'favorite',
      method: 'POST',
      next: () => {
        const n = count('favorite');
        const slug = targets.favoriteSlugs[n % targets.favoriteSlugs.length];
        return { path: `/api/articles/${slug}/favorite`, writer: n % WRITERS };
      },
    },
    {
      name: 'unfavorite',
      method: 'DELETE',
      next: () => {
        const { writer, slug } = take(targets.unfavorites);
        return { path: `/api/articles/${slug}/favorite`, writer };
      },
      remaining: () => remaining(targets.unfavorites),
    },
    {
      name: 'follow',
      method: 'POST',
      next: () => {
        const n = count('follow');
        return { path: `/api/profiles/quietf${n % QUIET}/follow`, writer: n % WRITERS };
      },
    },
    {
      name: 'unfollow',
      method: 'DELETE',
      next: () => {
        const { writer, username } = take(targets.unfollows);
        return { path: `/api/profiles/${username}/follow`, writer };
      },
      remaining: () => remaining(targets.unfollows),
    },
    {
      name: 'settings update',
      method: 'PUT',
      next: () => {
        const writer = count('settings') % WRITERS;
        return { path: '/api/user', writer, body: { user: { bio: prose(60, 300) } } };
      },
    },
  ];
}

/** Row name of a route's 1-connection run. */
export const singleConnection = (route: string) => `${route} (1 conn)`;

/** Each route at `connections`, then at 1 connection (both rows named by the route). */
export function writeScenarios(
  targets: WriteTargets,
  writerTokens: readonly string[],
  runId: string,
  connections: number,
): Scenario[] {
  return routes(targets, runId).flatMap((route) => {
    const request: Request = {
      method: route.method,
      path: '/',
      setupRequest: (base) => {
        const { path, writer, body } = route.next();
        return {
          ...base,
          path,
          headers: {
            authorization: `Token ${writerTokens[writer]}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        };
      },
    };
    const scenario = {
      server: 'cached' as const,
      request,
      write: true,
      ...(route.remaining ? { remaining: route.remaining } : {}),
    };
    return [
      { ...scenario, name: route.name, connections },
      { ...scenario, name: singleConnection(route.name), connections: 1 },
    ];
  });
}

/** The routes of the matrix, in order (for the table). */
export const WRITE_ROUTES = [
  'create article',
  'update article',
  'delete article',
  'add comment',
  'delete comment',
  'favorite',
  'unfavorite',
  'follow',
  'unfollow',
  'settings update',
] as const;

const TARGET_RPS = 1000;
const TARGET_P99_MS = 100;
const TARGET_SCALING = 4;

function pairs(rows: readonly Row[]) {
  const byName = new Map(rows.map((row) => [row.name, row]));
  return WRITE_ROUTES.flatMap((route) => {
    const many = byName.get(route);
    return many ? [{ route, many, one: byName.get(singleConnection(route)) }] : [];
  });
}

/** One line per route: its run at N connections, at 1, and the ratio of the two. */
export function writeTable(rows: readonly Row[]): string {
  const lines = pairs(rows).map(({ route, many, one }) => {
    const waits = many.lockWaits ? `${many.lockWaits.max} / ${many.lockWaits.total}` : '-';
    const single = one
      ? `${Math.round(one.rps)} | ${one.p50} | ${one.p99} | ${one.errors} | ${(many.rps / one.rps).toFixed(1)}`
      : '- | - | - | - | -';
    return `| ${route} | ${Math.round(many.rps)} | ${many.p50} | ${many.p99} | ${many.errors} | ${Math.round(many.cpuUs)} | ${Math.round(many.workerCpuUs)} | ${many.drainSeconds?.toFixed(1) ?? '-'} | ${waits} | ${single} |`;
  });
  if (lines.length === 0) return '';
  const connections = pairs(rows)[0]?.many.connections ?? 0;
  return [
    `| write route | req/s (${connections} conn) | p50 ms | p99 ms | errors/non-2xx | server CPU µs/req | worker CPU µs/req | worker drain s | lock waits max / total | req/s (1 conn) | p50 ms | p99 ms | errors/non-2xx | ${connections}-conn / 1-conn |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...lines,
  ].join('\n');
}

/** Lock waits and backend states of each route's N-connection run (the table has only the counts). */
export function lockWaitLines(rows: readonly Row[]): string[] {
  return pairs(rows).flatMap(({ route, many }) =>
    many.lockWaits
      ? [
          `${route}: lock waits ${describeLockWaits(many.lockWaits)}; database backends (mean): ${describeActivity(many.lockWaits) || 'none busy'}`,
        ]
      : [],
  );
}

/** The target lines of the matrix: ≥ 1,000 req/s, p99 ≤ 100 ms and ≥ 4× its 1-connection rate. */
export function writeChecks(
  rows: readonly Row[],
  check: (label: string, pass: boolean | undefined, value: string) => string,
): string[] {
  return pairs(rows).map(({ route, many, one }) => {
    const scaling = one ? many.rps / one.rps : Number.NaN;
    const fast = many.rps >= TARGET_RPS;
    const quick = many.p99 <= TARGET_P99_MS;
    const scales = scaling >= TARGET_SCALING;
    const mark = (ok: boolean) => (ok ? '' : ' ✗');
    return check(
      `${route}: ≥ ${TARGET_RPS.toLocaleString('en')} req/s, p99 ≤ ${TARGET_P99_MS} ms, ≥ ${TARGET_SCALING}× 1 conn`,
      one ? fast && quick && scales : undefined,
      `${Math.round(many.rps)} req/s${mark(fast)}, ${many.p99} ms${mark(quick)}, ${Number.isNaN(scaling) ? '-' : `${scaling.toFixed(1)}×`}${mark(scales)}`,
    );
  });
}
