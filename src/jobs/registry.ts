import type { JobDefinition } from './definition.js';
import { outboxSweepJob } from './handlers/outbox-sweep.js';
import { probeJob } from './handlers/probe.js';
import { purgeRefreshTokensJob } from './handlers/purge-refresh-tokens.js';
import { JOB_NAMES, type JobName } from './payloads.js';

export type JobRegistry = ReadonlyMap<JobName, JobDefinition>;

/** Every handler of the system; other modules add theirs here. */
export const jobDefinitions: readonly JobDefinition[] = [
  purgeRefreshTokensJob as JobDefinition,
  outboxSweepJob as JobDefinition,
  probeJob as JobDefinition,
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
