import { readFileSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, testDatabaseKind } from './support/app.js';
import { CHROMIUM_PATH, describeWithChromium } from './support/services.js';

/**
 * A RealWorld frontend in a real browser: headless Chromium loads a page from another origin
 * (another port) whose client sends `Content-Type: application/json` on every call, so every call
 * is preceded by a CORS preflight, and drives the body-less writes through the listening server.
 * Browsers are slow to start: one project (pglite) is enough for what this proves.
 */

const PAGE_FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/client.js': { file: 'client.js', type: 'text/javascript; charset=utf-8' },
};

/** The page's own origin: a tiny static server. */
function servePage(): Promise<Server> {
  const server = createServer((request, response) => {
    const page = PAGE_FILES[new URL(request.url ?? '/', 'http://page').pathname];
    if (!page) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': page.type });
    response.end(readFileSync(path.resolve('test/fixtures/browser', page.file)));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const originOf = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

/** What the page's client hands back: the status and the parsed JSON (the fields read here). */
interface Answer {
  status: number;
  body: {
    user?: { username: string };
    article?: { slug: string; favorited: boolean; favoritesCount: number };
    profile?: { following: boolean };
    comment?: { id: number };
    comments?: unknown[];
  } | null;
}

/** Calls `conduit.<method>(...args)` of the page's client, as a user's click would. */
function client(page: Page, method: string, ...args: unknown[]): Promise<Answer> {
  return page.evaluate(
    async ([name, list]) => {
      const conduit = (globalThis as unknown as { conduit: Record<string, (...a: unknown[]) => unknown> })
        .conduit;
      return (await conduit[name]?.(...list)) as Answer;
    },
    [method, args] as const,
  );
}

interface AccessLine {
  msg?: string;
  req?: { method?: string; url?: string };
  res?: { statusCode?: number };
}

const describeBrowser = testDatabaseKind === 'pglite' ? describeWithChromium : describe.skip;

describeBrowser('a browser client on another origin', () => {
  const accessLog: AccessLine[] = [];
  let t: TestApp;
  let pageServer: Server;
  let apiOrigin: string;
  let userDataDir: string;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    pageServer = await servePage();
    const logStream = new Writable({
      write(chunk, _encoding, done) {
        accessLog.push(JSON.parse(String(chunk)) as AccessLine);
        done();
      },
    });
    t = await createTestApp(
      {
        NODE_ENV: 'production',
        CORS_ORIGINS: originOf(pageServer),
        LOG_LEVEL: 'info',
        AUTH_RATE_LIMIT_IP_MAX: '1000',
      },
      { logStream },
    );
    apiOrigin = await t.app.listen({ host: '127.0.0.1', port: 0 });
    userDataDir = await mkdtemp(path.join(tmpdir(), 'conduit-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${originOf(pageServer)}/?api=${encodeURIComponent(apiOrigin)}`);
    await page.waitForFunction("document.getElementById('status').textContent === 'ready'");
  }, 90_000);

  afterAll(async () => {
    await context?.close();
    await t?.close();
    await new Promise((resolve) => pageServer?.close(resolve));
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  it('registers, logs in, favorites, follows, comments and deletes, preflights included', async () => {
    const author = await client(
      page,
      'register',
      'browser_author',
      'author@example.com',
      'author password 1',
    );
    expect(author.status, JSON.stringify(author.body)).toBe(201);
    const created = await client(page, 'createArticle', 'Written in a browser');
    expect(created.status).toBe(201);
    const slug = created.body?.article?.slug ?? 'missing';

    await client(page, 'logout');
    const reader = await client(
      page,
      'register',
      'browser_reader',
      'reader@example.com',
      'reader password 1',
    );
    expect(reader.status).toBe(201);
    await client(page, 'logout');
    const login = await client(page, 'login', 'reader@example.com', 'reader password 1');
    expect(login.status).toBe(200);
    expect((await client(page, 'currentUser')).body?.user?.username).toBe('browser_reader');

    const favorited = await client(page, 'favorite', slug);
    expect(favorited.status, JSON.stringify(favorited.body)).toBe(200);
    expect(favorited.body?.article).toMatchObject({ favorited: true, favoritesCount: 1 });
    const unfavorited = await client(page, 'unfavorite', slug);
    expect(unfavorited.status).toBe(200);
    expect((await client(page, 'article', slug)).body?.article).toMatchObject({
      favorited: false,
      favoritesCount: 0,
    });

    const followed = await client(page, 'follow', 'browser_author');
    expect(followed.status).toBe(200);
    expect(followed.body?.profile?.following).toBe(true);
    const unfollowed = await client(page, 'unfollow', 'browser_author');
    expect(unfollowed.status).toBe(200);
    expect(unfollowed.body?.profile?.following).toBe(false);

    const commented = await client(page, 'comment', slug, 'Nice one');
    expect(commented.status).toBe(200);
    const commentId = commented.body?.comment?.id;
    const deletedComment = await client(page, 'deleteComment', slug, commentId);
    expect(deletedComment.status).toBe(204);
    expect((await client(page, 'comments', slug)).body?.comments).toEqual([]);

    await client(page, 'logout');
    await client(page, 'login', 'author@example.com', 'author password 1');
    expect((await client(page, 'deleteArticle', slug)).status).toBe(204);
    expect((await client(page, 'article', slug)).status).toBe(404);

    // Every call carried Content-Type: application/json, so each was preflighted; the API's access
    // log shows the OPTIONS requests it answered, for the body-less writes too.
    const preflights = accessLog
      .filter((line) => line.msg === 'request completed' && line.req?.method === 'OPTIONS')
      .map((line) => ({ url: line.req?.url, status: line.res?.statusCode }));
    for (const url of [
      `/api/articles/${slug}/favorite`,
      '/api/profiles/browser_author/follow',
      `/api/articles/${slug}/comments/${commentId}`,
      `/api/articles/${slug}`,
    ]) {
      expect(preflights, url).toContainEqual({ url, status: 204 });
    }
    // Chromium does not show preflights to the page (nor to Playwright), hence the log. Nothing was
    // refused on the way: the only error answered is the 404 of the deleted article.
    const errors = accessLog
      .filter((line) => line.msg === 'request completed' && (line.res?.statusCode ?? 0) >= 400)
      .map((line) => `${line.req?.method} ${line.req?.url} ${line.res?.statusCode}`);
    expect(errors).toEqual([`GET /api/articles/${slug} 404`]);
  }, 60_000);
});
