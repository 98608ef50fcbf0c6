import type { Deps } from '../../src/deps.js';
import { runWrite, type UnitOfWork } from '../../src/unit-of-work.js';

/**
 * Runs `work` as a unit of work that commits its rows (emails and their outbox rows) but never
 * hands the jobs to the queue: the state a process that died right after the commit leaves, and
 * what tests that send by hand (deliverEmail) start from.
 */
export function writeWithoutFlush<T>(deps: Deps, work: (uow: UnitOfWork) => Promise<T>): Promise<T> {
  return runWrite({ ...deps.writes, jobs: { flushRecorded: async () => {} } }, work);
}
