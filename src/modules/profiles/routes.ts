import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { cachedGet, notModifiedResponse } from '../../cache/http.js';
import { cacheReads } from '../../cache/namespaces.js';
import type { Database } from '../../db/client.js';
import type { EmailKeys } from '../../email/render.js';
import { OPTIONAL_SIGN_IN, SIGNED_IN } from '../../http/security.js';
import { requireViewer } from '../../plugins/auth.js';
import { problemResponses } from '../../plugins/errors.js';
import { runWrite, type WriteDeps } from '../../unit-of-work.js';
import { defaultAvatarUrl } from './avatar.js';
import { ProfileResponseSchema, UsernameParamsSchema } from './schemas.js';
import { findProfile, followedAmong, followUser, presentProfile, unfollowUser } from './service.js';

export interface ProfileRoutesOptions {
  db: Database;
  /** Runs each write as a unit of work (the new-follower email, cache invalidation after commit). */
  writes: WriteDeps;
  keys: EmailKeys;
}

export const profileRoutes: FastifyPluginAsyncTypebox<ProfileRoutesOptions> = async (
  app,
  { db, writes, keys },
) => {
  const defaultImage = defaultAvatarUrl(keys.appUrl);
  app.get(
    '/profiles/:username',
    {
      preHandler: app.authenticateOptional,
      schema: {
        tags: ['Profiles'],
        summary: 'Get a profile (sign-in optional: it fills `following`)',
        security: OPTIONAL_SIGN_IN,
        params: UsernameParamsSchema,
        response: { 200: ProfileResponseSchema, ...notModifiedResponse, ...problemResponses(401, 404, 422) },
      },
    },
    (request, reply) => {
      const { username } = request.params;
      return cachedGet(request, reply, {
        namespaces: cacheReads.profile(username),
        compute: () => findProfile(db, username),
        personalize: async (view, viewer) => {
          const followed = await followedAmong(db, viewer?.id ?? null, [view.id]);
          return { profile: presentProfile(view, followed.has(view.id), defaultImage) };
        },
        viewerNamespaces: cacheReads.viewer,
      });
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
      const view = await runWrite(writes, (uow) => followUser(uow, viewer.id, username));
      return { profile: presentProfile(view, true, defaultImage) };
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
      const view = await runWrite(writes, (uow) => unfollowUser(uow, viewer.id, username));
      return { profile: presentProfile(view, false, defaultImage) };
    },
  );
};
