import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { describe } from 'vitest';
import { acceptsConnections } from '../faults/http-client.js';
import { requireServices } from '../support/services.js';

/**
 * A private redis-server this test may stop, pause and restart (the shared one is never touched).
 * No persistence: a restart comes back empty, like a cache node replaced after a crash.
 */
export const redisServerInstalled = spawnSync('redis-server', ['--version']).status === 0;

if (!redisServerInstalled && !requireServices) {
  console.warn(
    '\n!!! SKIPPING cache outage suites: redis-server is not installed (REQUIRE_SERVICES=1 fails)\n',
  );
}

export const describeWithRedisServer: typeof describe =
  redisServerInstalled || requireServices ? describe : (describe.skip as typeof describe);

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export class ThrowawayRedis {
  private child: ChildProcess | undefined;
  private constructor(
    readonly port: number,
    private readonly extraArgs: readonly string[],
  ) {}

  /** `extraArgs` go to redis-server after the defaults (and so override them). */
  static async start(extraArgs: readonly string[] = []): Promise<ThrowawayRedis> {
    const redis = new ThrowawayRedis(await freePort(), extraArgs);
    await redis.restart();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** (Re)starts the server on the same port and waits until it accepts connections. */
  async restart(): Promise<void> {
    if (this.child) throw new Error('already running');
    const child = spawn(
      'redis-server',
      [
        ...['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        ...this.extraArgs,
      ],
      { stdio: 'ignore' },
    );
    this.child = child;
    child.once('exit', () => {
      if (this.child === child) this.child = undefined;
    });
    for (let attempt = 0; attempt < 500; attempt++) {
      if (await acceptsConnections(this.port)) return;
      if (!this.child) throw new Error(`redis-server exited before listening on ${this.port}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`redis-server did not listen on ${this.port}`);
  }

  /** A crash: the process dies at once, connections are reset. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  /** A hang: connections stay open, nothing answers (SIGSTOP) — until `resume()`. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    this.resume();
    await this.kill();
  }
}
