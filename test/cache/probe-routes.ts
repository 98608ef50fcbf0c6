import { and, asc, count, desc, eq, inArray } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { cachedGet } from '../../src/cache/http.js';
import type { Database } from '../../src/db/client.js';
import { follows, users } from '../../src/db/schema.js';

/**
 * Test-only routes that read the real database through the real `cachedGet`, shaped like the
 * content routes: a viewer-independent payload (with internal ids) plus a `following` flag filled
 * per viewer by one query.
 */
export const PROBE_NAMESPACE = 'probe:users';

export interface Probe {
  /** How many times a `/probe/gated` compute ran. */
  gatedComputes: number;
  /** `/probe/gated` computes wait for this before answering. */
  gate: Promise<void>;
}

interface UsersPayload {
  users: { id: number; username: string; bio: string | null }[];
  usersCount: number;
}

const UsersResponse = Type.Object({
  users: Type.Array(
    Type.Object({
      username: Type.String(),
      bio: Type.Union([Type.String(), Type.Null()]),
      following: Type.Boolean(),
    }),
  ),
  usersCount: Type.Integer(),
});

export function probeRoutes(db: () => Database, probe: Probe) {
  return (app: FastifyInstance) => {
    app.register(
      async (routes) => {
        routes.get(
          '/users',
          {
            preHandler: routes.authenticateOptional,
            schema: {
              hide: true,
              querystring: Type.Object({
                order: Type.Union([Type.Literal('asc'), Type.Literal('desc')], { default: 'asc' }),
                limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
              }),
              response: { 200: UsersResponse },
            },
          },
          (request, reply) => {
            const { order, limit } = request.query as { order: 'asc' | 'desc'; limit: number };
            return cachedGet(request, reply, {
              namespaces: [PROBE_NAMESPACE],
              compute: async (): Promise<UsersPayload> => {
                const rows = await db()
                  .select({ id: users.id, username: users.username, bio: users.bio })
                  .from(users)
                  .orderBy(order === 'asc' ? asc(users.id) : desc(users.id))
                  .limit(limit);
                const [total] = await db().select({ n: count() }).from(users);
                return { users: rows, usersCount: total?.n ?? 0 };
              },
              personalize: async (payload, viewer) => {
                const ids = payload.users.map((user) => user.id);
                const followed = new Set<number>();
                if (viewer && ids.length) {
                  const rows = await db()
                    .select({ id: follows.followingId })
                    .from(follows)
                    .where(and(eq(follows.followerId, viewer.id), inArray(follows.followingId, ids)));
                  for (const row of rows) followed.add(row.id);
                }
                return {
                  users: payload.users.map((user) => ({ ...user, following: followed.has(user.id) })),
                  usersCount: payload.usersCount,
                };
              },
            });
          },
        );

        routes.get(
          '/gated',
          { schema: { hide: true, response: { 200: Type.Object({ computed: Type.Integer() }) } } },
          (request, reply) =>
            cachedGet(request, reply, {
              namespaces: [PROBE_NAMESPACE],
              compute: async () => {
                probe.gatedComputes++;
                const computed = probe.gatedComputes;
                await probe.gate;
                return { computed };
              },
            }),
        );
      },
      { prefix: '/probe' },
    );
  };
}
