import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { cachedGet, notModifiedResponse } from '../../cache/http.js';
import { cacheReads } from '../../cache/namespaces.js';
import type { Database } from '../../db/client.js';
import { POPULAR_TAGS_LIMIT, popularTags } from './service.js';

const TagsResponseSchema = Type.Object({
  tags: Type.Array(Type.String(), {
    description: `The ${POPULAR_TAGS_LIMIT} most used tags, most used first, then alphabetical`,
  }),
});

export const tagRoutes: FastifyPluginAsyncTypebox<{ db: Database }> = async (app, { db }) => {
  app.get(
    '/tags',
    {
      schema: {
        tags: ['Tags'],
        summary: 'Tags in use, most popular first',
        response: { 200: TagsResponseSchema, ...notModifiedResponse },
      },
    },
    (request, reply) =>
      cachedGet(request, reply, {
        namespaces: cacheReads.tags(),
        compute: async () => ({ tags: await popularTags(db) }),
      }),
  );
};
