import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { cachedGet, notModifiedResponse } from '../../cache/http.js';
import { cacheReads, cacheWrites } from '../../cache/namespaces.js';
import type { Database } from '../../db/client.js';
import type { EmailDispatcher } from '../../email/dispatch.js';
import type { EmailKeys } from '../../email/render.js';
import { OPTIONAL_SIGN_IN, SIGNED_IN } from '../../http/security.js';
import { requireViewer } from '../../plugins/auth.js';
import { problemResponses } from '../../plugins/errors.js';
import { SlugParamsSchema } from '../articles/schemas.js';
import { queueNewCommentEmail } from '../notifications/emails.js';
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
  /** The new-comment email to the article's author: queued in the comment's transaction. */
  emails: EmailDispatcher;
  keys: EmailKeys;
}

export const commentRoutes: FastifyPluginAsyncTypebox<CommentRoutesOptions> = async (
  app,
  { db, emails, keys },
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
      const emailIds: number[] = [];
      const view = await addComment(db, viewer.id, request.params.slug, request.body.comment.body, {
        // Not to yourself on your own article, nor when the author switched it off (both checked there).
        onAdded: async (tx, commentId) => {
          const emailId = await queueNewCommentEmail(tx, keys, { commentId });
          if (emailId !== null) emailIds.push(emailId);
        },
      });
      await emails.dispatch(emailIds);
      await app.cache.invalidate(cacheWrites.commentChanged(request.params.slug));
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
      await deleteComment(db, viewer.id, request.params.slug, request.params.id);
      await app.cache.invalidate(cacheWrites.commentChanged(request.params.slug));
      return reply.code(204).send(null);
    },
  );
};
