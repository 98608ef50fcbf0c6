import { describeWithRedis, TEST_REDIS_URL } from '../support/services.js';
import { queueContract } from './contract.js';
import { uniqueKey } from './support.js';

describeWithRedis('BullMQ adapter', () => {
  // Same process, real Redis: the app enqueues and its own BullMQ worker runs the jobs.
  queueContract('bullmq', () => ({
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: uniqueKey('contract'),
    RUN_JOBS_IN_API: 'true',
  }));
});
