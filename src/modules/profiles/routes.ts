import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Database } from '../../db/client.js';
import { requireViewer } from '../../plugins/auth.js';
import { problemResponses } from '../../plugins/errors.js';
import { OPTIONAL_SIGN_IN, ProfileResponseSchema, SIGNED_IN, UsernameParamsSchema } from './schemas.js';
import { findProfile, followedAmong, followUser, presentProfile, unfollowUser } from './service.js';

export const profileRoutes: FastifyPluginAsyncTypebox<{ db: Database }> = async (app, { db }) => {
  app.get(
    '/profiles/:username',
    {
      preHandler: app.authenticateOptional,
      schema: {
        tags: ['Profiles'],
        summary: 'Get a profile (sign-in optional: it fills `following`)',
        security: OPTIONAL_SIGN_IN,
        params: UsernameParamsSchema,
        response: { 200: ProfileResponseSchema, ...problemResponses(401, 404, 422) },
      },
    },
    async (request) => {
      const { username } = request.params;
      const view = await findProfile(db, username);
      const followed = await followedAmong(db, request.viewer?.id ?? null, [view.id]);
      return { profile: presentProfile(view, followed.has(view.id)) };
    },
  );

  app.post(
    '/profiles/:username/follow',
    {
      preHandler: app.authenticate,
      schema: {
        tags: ['Profiles'],
        summary: 'Follow a user (idempotent; following yourself is refused with 422)',
        security: SIGNED_IN,
        params: UsernameParamsSchema,
        response: { 200: ProfileResponseSchema, ...problemResponses(401, 404, 422) },
      },
    },
    async (request) => {
      const viewer = requireViewer(request);
      const { username } = request.params;
      const view = await followUser(db, viewer.id, username);
      return { profile: presentProfile(view, true) };
    },
  );

  app.delete(
    '/profiles/:username/follow',
    {
      preHandler: app.authenticate,
      schema: {
        tags: ['Profiles'],
        summary: 'Unfollow a user (idempotent)',
        security: SIGNED_IN,
        params: UsernameParamsSchema,
        response: { 200: ProfileResponseSchema, ...problemResponses(401, 404, 422) },
      },
    },
    async (request) => {
      const viewer = requireViewer(request);
      const { username } = request.params;
      const view = await unfollowUser(db, viewer.id, username);
      return { profile: presentProfile(view, false) };
    },
  );
};
