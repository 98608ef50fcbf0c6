import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance } from 'fastify';
import type { Database } from '../../db/client.js';
import { HttpError } from '../../errors.js';
import { SIGNED_IN } from '../../http/security.js';
import type { Jobs } from '../../jobs/jobs.js';
import { problemResponses } from '../../plugins/errors.js';
import { adminGuard, type VerifyCredentials } from './guard.js';
import { BasicSignIns } from './service.js';

export interface AdminRoutesOptions {
  db: Database;
  jobs: Jobs;
  /** Enables HTTP Basic sign-in for browsers (see guard.ts); without it only tokens work. */
  verifyCredentials?: VerifyCredentials;
}

/** `/admin/*`: admins only. Bull Board (the Flower of BullMQ) at `/admin/queues`. */
export async function adminRoutes(app: FastifyInstance, { db, jobs, verifyCredentials }: AdminRoutesOptions) {
  app.addHook('onRequest', adminGuard(app, { db, verifyCredentials, signIns: new BasicSignIns() }));

  if (!jobs.bullmq) {
    // Embedded mode has no Redis queue to inspect; say so instead of a bare 404.
    app.get(
      '/queues',
      {
        schema: {
          tags: ['Admin'],
          summary: 'Bull Board job dashboard (needs REDIS_URL)',
          security: SIGNED_IN,
          response: problemResponses(401, 403, 404),
        },
      },
      async () => {
        throw new HttpError(
          404,
          'The job dashboard needs REDIS_URL: without it jobs run in-process (their counts are in /metrics)',
        );
      },
    );
    return;
  }

  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath('/admin/queues');
  createBullBoard({
    queues: [new BullMQAdapter(jobs.bullmq.queue)],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Conduit jobs' } },
  });
  await app.register(serverAdapter.registerPlugin(), { prefix: '/queues' });
}
