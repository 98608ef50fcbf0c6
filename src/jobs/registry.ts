import type { JobDefinition, JobType } from './definition.js';

/** Job name → its one handler. Assembled at the composition root (src/jobs-registry.ts). */
export type JobRegistry = ReadonlyMap<string, JobDefinition>;

export class JobRegistryError extends Error {
  override name = 'JobRegistryError';
}

/**
 * Fails start-up unless every job type the system records or enqueues has exactly one handler: a
 * job nobody handles would sit in Redis for ever, and two handlers for one name would make the
 * outcome depend on load order.
 */
export function buildRegistry(definitions: readonly JobDefinition[], types: readonly JobType[]): JobRegistry {
  const names = new Set(types.map((type) => type.name));
  const registry = new Map<string, JobDefinition>();
  const problems: string[] = [];
  for (const definition of definitions) {
    const name = definition.type.name;
    if (!names.has(name)) problems.push(`handler for unknown job "${name}"`);
    else if (registry.has(name)) problems.push(`two handlers for job "${name}"`);
    else registry.set(name, definition);
  }
  for (const name of names) {
    if (!registry.has(name)) problems.push(`no handler for job "${name}"`);
  }
  if (problems.length > 0) throw new JobRegistryError(`job handlers: ${problems.join('; ')}`);
  return registry;
}
