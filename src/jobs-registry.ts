import { emailSendBatchJobType, emailSendJobType } from './email/job-types.js';
import { emailSendBatchJob, emailSendJob } from './email/jobs.js';
import type { JobDefinition, JobType, RecurringJob } from './jobs/definition.js';
import {
  outboxSweepJob,
  outboxSweepJobType,
  outboxSweepSchedule,
  probeJob,
  probeJobType,
} from './jobs/system-jobs.js';
import {
  compactCountsJobType,
  publishArticleJobType,
  publishDueArticlesJobType,
} from './modules/articles/job-types.js';
import {
  compactCountsJob,
  compactCountsSchedule,
  publishArticleJob,
  publishDueArticlesJob,
  publishDueArticlesSchedule,
} from './modules/articles/jobs.js';
import {
  purgeRefreshTokensJob,
  purgeRefreshTokensJobType,
  purgeRefreshTokensSchedule,
} from './modules/auth/jobs.js';
import {
  articlePublishedJobType,
  newArticleBatchJobType,
  weeklyDigestJobType,
} from './modules/notifications/job-types.js';
import {
  articlePublishedJob,
  newArticleBatchJob,
  weeklyDigestJob,
  weeklyDigestSchedule,
} from './modules/notifications/jobs.js';

/**
 * The job registry, assembled at the composition root: every job type the system records or
 * enqueues, its handler (each lives with its module), and the recurring schedules. `createJobs`
 * refuses to start unless each type has exactly one handler.
 *
 * Adding a job: a `jobType` in the module's job-types.ts, a `defineJob` handler in its jobs.ts,
 * and both listed here.
 */
export const jobTypes: readonly JobType[] = [
  emailSendJobType,
  emailSendBatchJobType,
  articlePublishedJobType,
  newArticleBatchJobType,
  weeklyDigestJobType,
  publishArticleJobType,
  publishDueArticlesJobType,
  compactCountsJobType,
  purgeRefreshTokensJobType,
  outboxSweepJobType,
  probeJobType,
];

export const jobDefinitions: readonly JobDefinition[] = [
  emailSendJob,
  emailSendBatchJob,
  articlePublishedJob,
  newArticleBatchJob,
  weeklyDigestJob,
  publishArticleJob,
  publishDueArticlesJob,
  compactCountsJob,
  purgeRefreshTokensJob,
  outboxSweepJob,
  probeJob,
];

/** Defined (idempotently) by every process that runs jobs. */
export const recurringJobs: readonly RecurringJob[] = [
  weeklyDigestSchedule,
  outboxSweepSchedule,
  purgeRefreshTokensSchedule,
  publishDueArticlesSchedule,
  compactCountsSchedule,
];
