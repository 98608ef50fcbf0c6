import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../src/config.js';
import { createDeps } from '../src/deps.js';
import { type QueueEmailInput, queueEmails } from '../src/email/log.js';
import type { OutboxRow } from '../src/jobs/definition.js';
import { cpuSeconds } from './harness.js';

/**
 * How fast the worker process delivers email into the SMTP sink, one job per email against one
 * job per batch, in the same run. The emails are written first (email_log rows and the outbox rows
 * of their send jobs, in one transaction, as a unit of work writes them), then handed to the queue
 * in one flush; the clock runs from the flush until the sink has accepted the last of them.
 *
 * 'one per job': each email recorded on its own, as a comment's email is (`email.send` each).
 * 'batched': all recorded together, as a fan-out batch or a digest batch is (`email.send-batch`).
 */
export type EmailMode = 'one per job' | 'batched';

export interface EmailThroughput {
  mode: EmailMode;
  emails: number;
  jobs: number;
  seconds: number;
  emailsPerSecond: number;
  /** The worker's CPU time per email over the same interval. */
  workerCpuUsPerEmail: number;
  /** This process's (the SMTP sink's) CPU time per email: near a core, the sink is the limit. */
  sinkCpuUsPerEmail: number;
}

const TIMEOUT_MS = 180_000;

export async function measureEmailThroughput(
  config: Config,
  options: { mode: EmailMode; emails: number; runId: string; workerPid: number; received: () => number },
): Promise<EmailThroughput> {
  const deps = await createDeps(config);
  try {
    const inputs: QueueEmailInput<'verify-email'>[] = Array.from({ length: options.emails }, (_, i) => ({
      to: `throughput-${options.runId}-${i}@bench.example`,
      userId: null,
      template: 'verify-email',
      data: { username: `reader_${i}`, token: `throughput-${options.runId}-${i}` },
      dedupeKey: `bench-throughput:${options.runId}:${options.mode}:${i}`,
    }));
    const jobs: OutboxRow[] = await deps.database.db.transaction(async (tx) => {
      if (options.mode === 'batched') return (await queueEmails(tx, config, inputs)).jobs;
      const rows: OutboxRow[] = [];
      for (const input of inputs) rows.push(...(await queueEmails(tx, config, [input])).jobs);
      return rows;
    });

    const target = options.received() + options.emails;
    const cpuBefore = cpuSeconds(options.workerPid);
    const sinkCpuBefore = process.cpuUsage();
    const started = performance.now();
    await deps.jobs.flushRecorded(jobs);
    while (options.received() < target) {
      if (performance.now() - started > TIMEOUT_MS) {
        throw new Error(`email throughput (${options.mode}): ${target - options.received()} emails not sent`);
      }
      await sleep(10);
    }
    const seconds = (performance.now() - started) / 1000;
    const cpu = cpuSeconds(options.workerPid) - cpuBefore;
    const sinkCpu = process.cpuUsage(sinkCpuBefore);
    return {
      mode: options.mode,
      emails: options.emails,
      jobs: jobs.length,
      seconds,
      emailsPerSecond: options.emails / seconds,
      workerCpuUsPerEmail: (cpu * 1e6) / options.emails,
      sinkCpuUsPerEmail: (sinkCpu.user + sinkCpu.system) / options.emails,
    };
  } finally {
    await deps.close();
  }
}
