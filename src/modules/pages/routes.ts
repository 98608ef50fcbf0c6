import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import type { Config } from '../../config.js';
import type { Database } from '../../db/client.js';
import { createLinks } from '../../email/links.js';
import { NotFoundError } from '../../errors.js';
import { HtmlPage, PAGE_HEADERS } from '../../http/pages.js';
import { ProblemSchema, problemResponses } from '../../plugins/errors.js';
import { getArticle, listArticles } from '../articles/queries.js';
import { listComments } from '../comments/service.js';
import { findProfile } from '../profiles/service.js';
import { articlePage, homePage, notFoundPage, profilePage } from './views.js';

export interface PageRoutesOptions {
  db: Database;
  config: Pick<Config, 'appUrl' | 'frontend' | 'nodeEnv'>;
}

const TAGS = ['Pages'];
const PROFILE_ARTICLES = 20;
/** An unknown profile or article is a page too; a path parameter that cannot exist (NUL, bad
 * escapes: src/plugins/input.ts) is refused before the route runs, as problem+json. */
const NOT_FOUND = {
  content: { 'text/html': { schema: HtmlPage }, 'application/problem+json': { schema: ProblemSchema } },
};
const html = { 200: HtmlPage, 404: NOT_FOUND };

function send(reply: FastifyReply, status: number, page: string): void {
  reply.code(status).headers(PAGE_HEADERS).send(page);
}

/** A missing profile or article is a page too: the person followed a link. */
async function orNotFound(reply: FastifyReply, what: string, render: () => Promise<string>) {
  try {
    return send(reply, 200, await render());
  } catch (error) {
    if (error instanceof NotFoundError) return send(reply, 404, notFoundPage(what));
    throw error;
  }
}

/**
 * Pages for people, at the root: `GET /` says what this is, and `/profile/:username` and
 * `/article/:slug` (the common RealWorld frontend routes) are what email links open when no
 * FRONTEND_URL is set. They show what an anonymous reader sees (no scheduled articles).
 */
export const pageRoutes: FastifyPluginAsyncTypebox<PageRoutesOptions> = async (app, { db, config }) => {
  const links = createLinks(config.appUrl, config.frontend);

  app.get(
    '/',
    {
      schema: {
        tags: TAGS,
        summary: 'What this server is, with links',
        produces: ['text/html'],
        response: { 200: HtmlPage },
      },
    },
    (_request, reply) =>
      send(
        reply,
        200,
        homePage({
          appUrl: config.appUrl,
          frontendUrl: config.frontend?.url,
          devMail: config.nodeEnv !== 'production',
        }),
      ),
  );

  app.get(
    '/profile/:username',
    {
      schema: {
        tags: TAGS,
        summary: "A profile page for people (an email's profile link without FRONTEND_URL)",
        params: Type.Object({ username: Type.String({ minLength: 1, maxLength: 64 }) }),
        produces: ['text/html'],
        response: { ...html, ...problemResponses(422) },
      },
    },
    (request, reply) =>
      orNotFound(reply, 'profile', async () => {
        const profile = await findProfile(db, request.params.username);
        const page = await listArticles(db, { author: profile.username, limit: PROFILE_ARTICLES, offset: 0 });
        return profilePage(profile, page.articles, page.articlesCount, links);
      }),
  );

  app.get(
    '/article/:slug',
    {
      schema: {
        tags: TAGS,
        summary: "An article page with its comments (an email's article link without FRONTEND_URL)",
        params: Type.Object({ slug: Type.String({ minLength: 1, maxLength: 300 }) }),
        produces: ['text/html'],
        response: { ...html, ...problemResponses(422) },
      },
    },
    (request, reply) =>
      orNotFound(reply, 'article', async () => {
        const article = await getArticle(db, request.params.slug);
        const comments = await listComments(db, article.slug, null);
        return articlePage(article, comments, links);
      }),
  );
};
