import { BACKOFF_JITTER, backoffDelay } from './backoff.js';
import type { AddOptions, AttemptRunner, BulkJob, JobQueue, QueueCounts } from './queue.js';
import { KEEP_COMPLETED, KEEP_FAILED } from './queue.js';
import type { JobEnvelope } from './runner.js';

/**
 * The longest delay setTimeout takes (2^31 − 1 ms, about 24.8 days): Node turns a longer one into
 * 1 ms with a TimeoutOverflowWarning, which would run an article scheduled a month ahead at once.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

interface Entry {
  id: string;
  name: string;
  envelope: JobEnvelope;
  attempts: number;
  attemptsMade: number;
  state: 'waiting' | 'delayed' | 'active' | 'completed' | 'failed';
}

/**
 * The embedded-mode queue: same retry, backoff and delay semantics as BullMQ, in this process's
 * memory. Not durable — a restart forgets waiting and delayed jobs (outbox rows survive and the
 * start-up sweep enqueues them again).
 */
export class InProcessQueue implements JobQueue {
  readonly kind = 'in-process';
  private readonly entries = new Map<string, Entry>();
  private readonly ready: Entry[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Finished ids in finishing order, trimmed like BullMQ's removeOnComplete/removeOnFail. */
  private readonly finished: { completed: string[]; failed: string[] } = { completed: [], failed: [] };
  private run: AttemptRunner | undefined;
  private concurrency = 1;
  private active = 0;
  private closed = false;
  private idle: (() => void)[] = [];

  constructor(private readonly backoffMs: number) {}

  async add(name: string, envelope: JobEnvelope, { jobId, delayMs, attempts }: AddOptions): Promise<void> {
    if (this.closed) throw new Error('the job queue is closed');
    if (this.entries.has(jobId)) return;
    const entry: Entry = { id: jobId, name, envelope, attempts, attemptsMade: 0, state: 'waiting' };
    this.entries.set(jobId, entry);
    if (delayMs > 0) this.delay(entry, delayMs);
    else this.enqueueReady(entry);
  }

  async addBulk(jobs: readonly BulkJob[]): Promise<void> {
    for (const { name, envelope, options } of jobs) await this.add(name, envelope, options);
  }

  async schedule(id: string, name: string, envelope: JobEnvelope, everyMs: number, attempts: number) {
    let tick = 0;
    const next = () =>
      this.at(Date.now() + everyMs, () => {
        tick += 1;
        void this.add(name, envelope, { jobId: `${id}:${Date.now()}:${tick}`, delayMs: 0, attempts }).catch(
          () => {},
        );
        next();
      });
    next();
  }

  /** Its schedules are timers of this process: none of a previous deploy survives. */
  async unscheduleOthers(_keep: readonly string[]): Promise<void> {}

  async process(run: AttemptRunner, concurrency: number): Promise<void> {
    this.run = run;
    this.concurrency = concurrency;
    this.pump();
  }

  async counts(): Promise<QueueCounts> {
    const counts = { waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0 };
    for (const entry of this.entries.values()) counts[entry.state] += 1;
    return counts;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.ready.length = 0;
    if (this.active > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  private delay(entry: Entry, ms: number): void {
    entry.state = 'delayed';
    this.at(Date.now() + ms, () => this.enqueueReady(entry));
  }

  /** Runs `fire` at `dueAt` (epoch ms), in steps of at most MAX_TIMER_MS; unref'd, cleared by close. */
  private at(dueAt: number, fire: () => void): void {
    if (this.closed) return;
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        if (Date.now() < dueAt) this.at(dueAt, fire);
        else fire();
      },
      Math.min(Math.max(0, dueAt - Date.now()), MAX_TIMER_MS),
    );
    timer.unref();
    this.timers.add(timer);
  }

  private enqueueReady(entry: Entry): void {
    entry.state = 'waiting';
    this.ready.push(entry);
    this.pump();
  }

  private pump(): void {
    while (this.run && !this.closed && this.active < this.concurrency && this.ready.length > 0) {
      const entry = this.ready.shift();
      if (entry) void this.attempt(entry, this.run);
    }
  }

  private async attempt(entry: Entry, run: AttemptRunner): Promise<void> {
    this.active += 1;
    entry.state = 'active';
    try {
      const result = await run(entry.envelope, {
        jobId: entry.id,
        name: entry.name,
        attempt: entry.attemptsMade + 1,
        maxAttempts: entry.attempts,
      }).catch((error: unknown) => ({
        outcome: 'retry' as const,
        error: error instanceof Error ? error : new Error(String(error)),
      }));
      if (result.outcome === 'retry' && entry.attemptsMade + 1 < entry.attempts && !this.closed) {
        entry.attemptsMade += 1;
        this.delay(entry, backoffDelay(entry.attemptsMade, this.backoffMs, BACKOFF_JITTER));
      } else {
        entry.attemptsMade += 1;
        const failed = result.outcome === 'failed' || result.outcome === 'retry';
        this.finish(entry, failed ? 'failed' : 'completed');
      }
    } finally {
      this.active -= 1;
      if (this.active === 0) for (const resolve of this.idle.splice(0)) resolve();
      this.pump();
    }
  }

  private finish(entry: Entry, state: 'completed' | 'failed'): void {
    entry.state = state;
    const kept = this.finished[state];
    kept.push(entry.id);
    const keep = state === 'completed' ? KEEP_COMPLETED.count : KEEP_FAILED.count;
    for (const id of kept.splice(0, Math.max(0, kept.length - keep))) this.entries.delete(id);
  }
}
