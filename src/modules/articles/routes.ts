import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { cachedGet, notModifiedResponse } from '../../cache/http.js';
import { cacheReads } from '../../cache/namespaces.js';
import type { Database } from '../../db/client.js';
import { OPTIONAL_SIGN_IN, SIGNED_IN } from '../../http/security.js';
import { requireViewer } from '../../plugins/auth.js';
import { problemResponses } from '../../plugins/errors.js';
import { runWrite, type WriteDeps } from '../../unit-of-work.js';
import {
  type ArticleView,
  type FullArticleView,
  getArticle,
  listArticles,
  presentArticle,
  viewerFlagsFor,
} from './queries.js';
import {
  FeedQuerySchema,
  ListQuerySchema,
  MultipleArticlesResponseSchema,
  NewArticleBodySchema,
  paging,
  SingleArticleResponseSchema,
  SlugParamsSchema,
  UpdateArticleBodySchema,
} from './schemas.js';
import {
  createArticle,
  deleteArticle,
  favoriteArticle,
  unfavoriteArticle,
  updateArticle,
} from './service.js';

export interface ArticleRoutesOptions {
  db: Database;
  /** Runs each write as a unit of work: jobs enqueued and caches invalidated after its commit. */
  writes: WriteDeps;
  /** The `image` of an author who set none (src/modules/profiles/avatar.ts). */
  defaultImage: string;
}

export const articleRoutes: FastifyPluginAsyncTypebox<ArticleRoutesOptions> = async (
  app,
  { db, writes, defaultImage },
) => {
  /** Adds the viewer's flags (one query) to viewer-independent views. */
  async function present(views: ArticleView[], viewerId: number | null) {
    const flags = await viewerFlagsFor(db, viewerId, views);
    return views.map((view) => presentArticle(view, flags, defaultImage));
  }

  async function single(view: FullArticleView, viewerId: number | null) {
    return { article: presentArticle(view, await viewerFlagsFor(db, viewerId, [view]), defaultImage) };
  }

  app.get(
    '/articles',
    {
      preHandler: app.authenticateOptional,
      schema: {
        tags: ['Articles'],
        summary: 'List articles, newest first, filtered by tag, author or favoriting user',
        security: OPTIONAL_SIGN_IN,
        querystring: ListQuerySchema,
        response: {
          200: MultipleArticlesResponseSchema,
          ...notModifiedResponse,
          ...problemResponses(401, 422),
        },
      },
    },
    (request, reply) => {
      const { tag, author, favorited } = request.query;
      return cachedGet(request, reply, {
        namespaces: cacheReads.articleList(),
        compute: () => listArticles(db, { tag, author, favorited, ...paging(request.query) }),
        personalize: async ({ articles, articlesCount }, viewer) => ({
          articles: await present(articles, viewer?.id ?? null),
          articlesCount,
        }),
        viewerNamespaces: cacheReads.viewer,
      });
    },
  );

  app.get(
    '/articles/feed',
    {
      preHandler: app.authenticate,
      schema: {
        tags: ['Articles'],
        summary: 'Articles by the authors you follow, newest first',
        security: SIGNED_IN,
        querystring: FeedQuerySchema,
        response: {
          200: MultipleArticlesResponseSchema,
          ...notModifiedResponse,
          ...problemResponses(401, 422),
        },
      },
    },
    (request, reply) => {
      const viewer = requireViewer(request);
      return cachedGet(request, reply, {
        // One entry per viewer: their follows choose the authors.
        key: `feed:${viewer.id}?${JSON.stringify(paging(request.query))}`,
        namespaces: cacheReads.feed(viewer.id),
        compute: () => listArticles(db, { followedBy: viewer.id, ...paging(request.query) }),
        personalize: async ({ articles, articlesCount }) => ({
          articles: await present(articles, viewer.id),
          articlesCount,
        }),
        viewerNamespaces: cacheReads.viewer,
      });
    },
  );

  app.get(
    '/articles/:slug',
    {
      preHandler: app.authenticateOptional,
      schema: {
        tags: ['Articles'],
        summary: 'Get an article (a scheduled one: its author only)',
        security: OPTIONAL_SIGN_IN,
        params: SlugParamsSchema,
        response: {
          200: SingleArticleResponseSchema,
          ...notModifiedResponse,
          ...problemResponses(401, 404, 422),
        },
      },
    },
    async (request, reply) => {
      const { slug } = request.params;
      return cachedGet(request, reply, {
        namespaces: cacheReads.article(slug),
        compute: () => getArticle(db, slug, null),
        // The cached view is what everyone sees; its author may also read a scheduled article.
        computeForViewer: (viewerId) => getArticle(db, slug, viewerId),
        personalize: (view: FullArticleView, viewer) => single(view, viewer?.id ?? null),
        viewerNamespaces: cacheReads.viewer,
      });
    },
  );

  app.post(
    '/articles',
    {
      preHandler: app.authenticate,
      schema: {
        tags: ['Articles'],
        summary: 'Create an article (its slug is derived from the title), now or scheduled by `publishAt`',
        security: SIGNED_IN,
        body: NewArticleBodySchema,
        response: { 201: SingleArticleResponseSchema, ...problemResponses(401, 422) },
      },
    },
    async (request, reply) => {
      const viewer = requireViewer(request);
      const article = await runWrite(writes, (uow) => createArticle(uow, viewer.id, request.body.article));
      // No flags to look up: nobody has favorited a new article yet, and nobody follows themselves.
      const flags = { favorited: new Set<number>(), following: new Set<number>() };
      return reply.code(201).send({ article: presentArticle(article, flags, defaultImage) });
    },
  );

  app.put(
    '/articles/:slug',
    {
      preHandler: app.authenticate,
      schema: {
        tags: ['Articles'],
        summary: 'Update your article (a new title gives it a new slug)',
        security: SIGNED_IN,
        params: SlugParamsSchema,
        body: UpdateArticleBodySchema,
        response: { 200: SingleArticleResponseSchema, ...problemResponses(401, 403, 404, 422) },
      },
    },
    async (request) => {
      const viewer = requireViewer(request);
      const { slug } = request.params;
      const article = await runWrite(writes, (uow) =>
        updateArticle(uow, viewer.id, slug, request.body.article),
      );
      return single(article, viewer.id);
    },
  );

  app.delete(
    '/articles/:slug',
    {
      preHandler: app.authenticate,
      schema: {
        tags: ['Articles'],
        summary: 'Delete your article with its comments and favorites',
        security: SIGNED_IN,
        params: SlugParamsSchema,
        response: { 204: Type.Null({ description: 'Deleted' }), ...problemResponses(401, 403, 404, 422) },
      },
    },
    async (request, reply) => {
      const viewer = requireViewer(request);
      await runWrite(writes, (uow) => deleteArticle(uow, viewer.id, request.params.slug));
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/articles/:slug/favorite',
    {
      preHandler: app.authenticate,
      schema: {
        tags: ['Favorites'],
        summary: 'Favorite an article (idempotent)',
        security: SIGNED_IN,
        params: SlugParamsSchema,
        response: { 200: SingleArticleResponseSchema, ...problemResponses(401, 404, 422) },
      },
    },
    async (request) => {
      const viewer = requireViewer(request);
      const view = await runWrite(writes, (uow) => favoriteArticle(uow, viewer.id, request.params.slug));
      return single(view, viewer.id);
    },
  );

  app.delete(
    '/articles/:slug/favorite',
    {
      preHandler: app.authenticate,
      schema: {
        tags: ['Favorites'],
        summary: 'Unfavorite an article (idempotent)',
        security: SIGNED_IN,
        params: SlugParamsSchema,
        response: { 200: SingleArticleResponseSchema, ...problemResponses(401, 404, 422) },
      },
    },
    async (request) => {
      const viewer = requireViewer(request);
      const view = await runWrite(writes, (uow) => unfavoriteArticle(uow, viewer.id, request.params.slug));
      return single(view, viewer.id);
    },
  );
};
