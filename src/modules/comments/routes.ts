import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { cachedGet, notModifiedResponse } from '../../cache/http.js';
import { cacheReads } from '../../cache/namespaces.js';
import type { Database } from '../../db/client.js';
import type { EmailKeys } from '../../email/render.js';
import { OPTIONAL_SIGN_IN, SIGNED_IN } from '../../http/security.js';
import { requireViewer } from '../../plugins/auth.js';
import { problemResponses } from '../../plugins/errors.js';
import { runWrite, type WriteDeps } from '../../unit-of-work.js';
import { SlugParamsSchema } from '../articles/schemas.js';
import { defaultAvatarUrl } from '../profiles/avatar.js';
import { followedAmong } from '../profiles/service.js';
import {
  CommentParamsSchema,
  MultipleCommentsResponseSchema,
  NewCommentBodySchema,
  SingleCommentResponseSchema,
} from './schemas.js';
import { addComment, type CommentView, deleteComment, listComments, presentComment } from './service.js';

export interface CommentRoutesOptions {
  db: Database;
  /** Runs each write as a unit of work (the new-comment email, cache invalidation after commit). */
  writes: WriteDeps;
  keys: EmailKeys;
}

export const commentRoutes: FastifyPluginAsyncTypebox<CommentRoutesOptions> = async (
  app,
  { db, writes, keys },
) => {
  const defaultImage = defaultAvatarUrl(keys.appUrl);
  app.get(
    '/articles/:slug/comments',
    {
      preHandler: app.authenticateOptional,
      schema: {
        tags: ['Comments'],
        summary: "An article's comments, newest first",
        security: OPTIONAL_SIGN_IN,
        params: SlugParamsSchema,
        response: {
          200: MultipleCommentsResponseSchema,
          ...notModifiedResponse,
          ...problemResponses(401, 404, 422),
        },
      },
    },
    async (request, reply) => {
      const { slug } = request.params;
      return cachedGet(request, reply, {
        namespaces: cacheReads.comments(slug),
        compute: () => listComments(db, slug, null),
        // The author of a scheduled article reads its comments too.
        computeForViewer: (viewerId) => listComments(db, slug, viewerId),
        personalize: async (views: CommentView[], viewer) => {
          const following = await followedAmong(
            db,
            viewer?.id ?? null,
            views.map((view) => view.author.id),
          );
          return { comments: views.map((view) => presentComment(view, following, defaultImage)) };
        },
        viewerNamespaces: cacheReads.viewer,
      });
    },
  );

  app.post(
    '/articles/:slug/comments',
    {
      preHandler: app.authenticate,
      schema: {
        tags: ['Comments'],
        summary: 'Comment on an article',
        security: SIGNED_IN,
        params: SlugParamsSchema,
        body: NewCommentBodySchema,
        response: { 200: SingleCommentResponseSchema, ...problemResponses(401, 404, 422) },
      },
    },
    async (request) => {
      const viewer = requireViewer(request);
      const { slug } = request.params;
      const view = await runWrite(writes, (uow) =>
        addComment(uow, viewer.id, slug, request.body.comment.body),
      );
      // Your own comment: you cannot follow yourself.
      return { comment: presentComment(view, new Set(), defaultImage) };
    },
  );

  app.delete(
    '/articles/:slug/comments/:id',
    {
      preHandler: app.authenticate,
      schema: {
        tags: ['Comments'],
        summary: 'Delete your comment',
        security: SIGNED_IN,
        params: CommentParamsSchema,
        response: { 204: Type.Null({ description: 'Deleted' }), ...problemResponses(401, 403, 404, 422) },
      },
    },
    async (request, reply) => {
      const viewer = requireViewer(request);
      const { slug, id } = request.params;
      await runWrite(writes, (uow) => deleteComment(uow, viewer.id, slug, id));
      return reply.code(204).send(null);
    },
  );
};
