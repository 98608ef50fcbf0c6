import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, expect, it } from 'vitest';
import { appendOnlyPersistence } from '../../src/jobs/redis-persistence.js';
import { describeWithRedisServer, ThrowawayRedis } from '../cache/throwaway-redis.js';

/** Private redis-servers: the worker's start-up check against each way Redis may answer. */
describeWithRedisServer('the AOF check', () => {
  const servers: ThrowawayRedis[] = [];
  const dataDir = mkdtempSync(path.join(tmpdir(), 'conduit-aof-'));
  afterAll(async () => {
    for (const server of servers) await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const start = async (args: string[]) => {
    const server = await ThrowawayRedis.start(args);
    servers.push(server);
    return server;
  };

  it('reads appendonly from CONFIG GET', async () => {
    const on = await start(['--appendonly', 'yes', '--dir', dataDir]);
    expect(await appendOnlyPersistence(on.url)).toBe('on');
    expect(await appendOnlyPersistence((await start([])).url)).toBe('off');
  });

  it('falls back to INFO persistence when Redis refuses CONFIG, and never throws', async () => {
    const noConfig = await start(['--rename-command', 'CONFIG', '']);
    const probe = new Redis(noConfig.url);
    await expect(probe.config('GET', 'appendonly')).rejects.toThrow(/unknown command/i);
    probe.disconnect();
    expect(await appendOnlyPersistence(noConfig.url)).toBe('off');
    const neither = await start(['--rename-command', 'CONFIG', '', '--rename-command', 'INFO', '']);
    expect(await appendOnlyPersistence(neither.url)).toBeUndefined();
  });
});
