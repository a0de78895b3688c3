// The two TaskQueue backends for the shared contract and crash tests: SQLite on a temp file, Redis under a fresh prefix.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Redis } from 'ioredis';
import { describe, it } from 'vitest';
import { manualClock, systemClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/log.ts';
import { createRedisQueue, jobIdOf } from '../../src/service/redis-queue.ts';
import { openServiceDb } from '../../src/service/service-db.ts';
import { createSqliteQueue } from '../../src/service/sqlite-queue.ts';
import type { QueuePolicy, TaskQueue } from '../../src/service/task-queue.ts';
import { tempDir } from './rollgate.ts';

/** One queue's storage under test, and the handles opened on it. */
export interface QueueUnderTest {
  queue: TaskQueue;
  /** Another handle on the same storage, as another process would open it; closed with the rest. */
  open(): TaskQueue;
  now(): number;
  /** Time passes: a manual clock is advanced, real time is slept through. */
  pass(ms: number): Promise<void>;
  /** Redis redelivers on its stalled-job check, a little after the lease: such a claim is retried a while. */
  realTime: boolean;
  /** What a worker process needs in its environment to open this queue (see queue-worker-child.ts). */
  env: Record<string, string>;
  /** The SQLite queue lives in a service database, which the task store can share. */
  dbFile?: string;
  /** How many times the queue has delivered the task. */
  deliveries(taskId: string): Promise<number>;
  close(): Promise<void>;
}

export interface QueueBackend {
  name: 'sqlite' | 'redis';
  /** With `realClock`, a SQLite queue runs on the system clock, as a worker in another process does. */
  start(policy: Partial<QueuePolicy>, opts?: { realClock?: boolean }): Promise<QueueUnderTest>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const sqliteBackend: QueueBackend = {
  name: 'sqlite',
  async start(policy, opts = {}) {
    const manual = manualClock();
    const clock = opts.realClock ? systemClock : manual;
    const file = path.join(tempDir(), 'service.db');
    const handles = [openServiceDb(file).db];
    const make = (db = handles[0]) => {
      if (!db) throw new Error('no database');
      return createSqliteQueue({ db, clock, policy });
    };
    return {
      queue: make(),
      open() {
        const { db } = openServiceDb(file);
        handles.push(db);
        return make(db);
      },
      now: clock,
      realTime: Boolean(opts.realClock),
      async pass(ms) {
        if (opts.realClock) await sleep(ms);
        else manual.advance(ms);
      },
      env: { SERVICE_DB: file },
      dbFile: file,
      async deliveries(taskId) {
        return handles[0]
          ?.prepare('SELECT attempts FROM task_queue WHERE task_id = ?')
          .pluck()
          .get(taskId) as number;
      },
      async close() {
        for (const db of handles.splice(0)) db.close();
      },
    };
  },
};

/** Deletes every key under a test's prefix: a test leaves nothing behind in the shared Redis. */
export async function dropPrefix(url: string, prefix: string): Promise<void> {
  const r = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await r.del(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
}

export const testPrefix = () => `rollgate-test-${randomUUID().slice(0, 8)}`;

export function redisBackend(url: string): QueueBackend {
  return {
    name: 'redis',
    async start(policy) {
      const prefix = testPrefix();
      const queues: TaskQueue[] = [];
      const make = () => {
        const q = createRedisQueue({ url, prefix, policy, checkEveryMs: 50, log: silentLogger });
        queues.push(q);
        return q;
      };
      const reader = new Redis(url, { maxRetriesPerRequest: 1 });
      return {
        queue: make(),
        open: make,
        now: Date.now,
        realTime: true,
        pass: sleep,
        env: { QUEUE_URL: url, QUEUE_PREFIX: prefix },
        async deliveries(taskId) {
          return Number(await reader.hget(`${prefix}:tasks:${jobIdOf(taskId)}`, 'ats'));
        },
        async close() {
          await Promise.all(queues.splice(0).map((q) => q.close()));
          reader.disconnect();
          await dropPrefix(url, prefix);
        },
      };
    },
  };
}

/**
 * Where the Redis tests run: ROLLGATE_TEST_REDIS_URL makes them required (unreachable is a failure, so CI
 * never skips silently); without it they run when a local Redis answers within a short timeout.
 */
export async function findTestRedis(): Promise<{ url: string; required: boolean; reachable: boolean }> {
  const configured = process.env.ROLLGATE_TEST_REDIS_URL;
  const url = configured || 'redis://127.0.0.1:6379';
  const probe = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 500,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  probe.on('error', () => {});
  let reachable = false;
  try {
    await probe.connect();
    reachable = (await probe.ping()) === 'PONG';
  } catch {
    reachable = false;
  } finally {
    probe.disconnect();
  }
  return { url, required: Boolean(configured), reachable };
}

/**
 * The backends a queue test file runs against. Without a Redis it says once what was not run (`announce`);
 * with ROLLGATE_TEST_REDIS_URL set but unreachable it registers a failing test instead of skipping.
 */
export async function queueBackends(opts: { announce: boolean }): Promise<QueueBackend[]> {
  const redis = await findTestRedis();
  if (redis.reachable) return [sqliteBackend, redisBackend(redis.url)];
  if (redis.required) {
    describe('Redis task queue', () => {
      it('reaches the Redis named by ROLLGATE_TEST_REDIS_URL', () => {
        throw new Error(
          'ROLLGATE_TEST_REDIS_URL is set but that Redis does not answer: the Redis half cannot run',
        );
      });
    });
  } else if (opts.announce) {
    console.log(
      `Redis queue tests NOT run (queue contract, workers, SIGKILL crash test and the service on Redis): nothing answers at ${redis.url} and ROLLGATE_TEST_REDIS_URL is unset`,
    );
  }
  return [sqliteBackend];
}
