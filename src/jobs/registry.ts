import type { Config } from '../config.js';
import type { JobDefinition } from './definition.js';
import { emailSendJob } from './handlers/email-send.js';
import { emailSweepJob } from './handlers/email-sweep.js';
import { articlePublishedJob, newArticleBatchJob } from './handlers/notify-article-published.js';
import { weeklyDigestJob } from './handlers/notify-weekly-digest.js';
import { outboxSweepJob } from './handlers/outbox-sweep.js';
import { probeJob } from './handlers/probe.js';
import { publishArticleJob } from './handlers/publish-article.js';
import { publishDueArticlesJob } from './handlers/publish-due-articles.js';
import { purgeRefreshTokensJob } from './handlers/purge-refresh-tokens.js';
import { JOB_NAMES, type JobName, type JobPayload } from './payloads.js';

export type JobRegistry = ReadonlyMap<JobName, JobDefinition>;

/** Every handler of the system; other modules add theirs here. */
export const jobDefinitions: readonly JobDefinition[] = [
  purgeRefreshTokensJob as JobDefinition,
  outboxSweepJob as JobDefinition,
  probeJob as JobDefinition,
  emailSendJob as JobDefinition,
  emailSweepJob as JobDefinition,
  articlePublishedJob as JobDefinition,
  newArticleBatchJob as JobDefinition,
  weeklyDigestJob as JobDefinition,
  publishArticleJob as JobDefinition,
  publishDueArticlesJob as JobDefinition,
];

/** A job that runs every `everyMs` (a BullMQ job scheduler; a timer in embedded mode). */
export interface RecurringJob<N extends JobName = JobName> {
  /** Identifies the schedule: changing `everyMs` and restarting updates it in place. */
  id: string;
  name: N;
  payload: JobPayload<N>;
  everyMs: (config: Config) => number;
}

function recurring<N extends JobName>(job: RecurringJob<N>): RecurringJob {
  return job as unknown as RecurringJob;
}

/** Refresh tokens are kept this long after they expire or are revoked (audits, support). */
const REFRESH_TOKEN_RETENTION_DAYS = 7;

/** Every recurring job; defined (idempotently) by every process that runs jobs. */
export const recurringJobs: readonly RecurringJob[] = [
  recurring({
    id: 'email-sweep',
    name: 'email.sweep',
    payload: {},
    everyMs: (config) => config.jobs.outboxSweepSeconds * 1000,
  }),
  // Daily, but each week's digest goes out once (see the handler): a missed run is made up.
  recurring({
    id: 'weekly-digest',
    name: 'notifications.weekly-digest',
    payload: {},
    everyMs: () => 24 * 3600_000,
  }),
  recurring({
    id: 'outbox-sweep',
    name: 'system.outbox-sweep',
    payload: {},
    everyMs: (config) => config.jobs.outboxSweepSeconds * 1000,
  }),
  recurring({
    id: 'purge-refresh-tokens',
    name: 'maintenance.purge-refresh-tokens',
    payload: { retentionDays: REFRESH_TOKEN_RETENTION_DAYS },
    everyMs: () => 24 * 3600_000,
  }),
  recurring({
    id: 'publish-due-articles',
    name: 'articles.publish-due',
    payload: {},
    // Scheduled publishing is minute-accurate even when a delayed publish job was lost.
    everyMs: () => 60_000,
  }),
];

export class JobRegistryError extends Error {
  override name = 'JobRegistryError';
}

/**
 * Fails start-up unless every job name has exactly one handler: a job nobody handles would sit
 * in Redis for ever, and two handlers for one name would make the outcome depend on load order.
 */
export function buildRegistry(
  definitions: readonly JobDefinition[],
  names: readonly string[] = JOB_NAMES,
): JobRegistry {
  const registry = new Map<JobName, JobDefinition>();
  const problems: string[] = [];
  for (const definition of definitions) {
    if (!names.includes(definition.name)) problems.push(`handler for unknown job "${definition.name}"`);
    else if (registry.has(definition.name)) problems.push(`two handlers for job "${definition.name}"`);
    else registry.set(definition.name, definition);
  }
  for (const name of names) {
    if (!registry.has(name as JobName)) problems.push(`no handler for job "${name}"`);
  }
  if (problems.length > 0) throw new JobRegistryError(`job handlers: ${problems.join('; ')}`);
  return registry;
}
