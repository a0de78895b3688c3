// Queue speed: enqueues and deliveries (claim + complete) per second on SQLite and on Redis, same tasks, same batches.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { systemClock } from '../clock.ts';
import { silentLogger } from '../log.ts';
import { createRedisQueue } from './redis-queue.ts';
import { openServiceDb } from './service-db.ts';
import { createSqliteQueue } from './sqlite-queue.ts';
import type { TaskQueue } from './task-queue.ts';

const tasks = Number(process.env.BENCH_TASKS ?? 5_000);
const batch = 16;
const claimers = 4;

interface Figures {
  enqueuePerS: number;
  deliveredPerS: number;
}

async function measure(queue: TaskQueue): Promise<Figures> {
  const ids = Array.from({ length: tasks }, (_, i) => `bench-${i}`);
  let t0 = performance.now();
  for (const id of ids) await queue.enqueue(id);
  const enqueueS = (performance.now() - t0) / 1_000;
  // Several claimers at once, as the workers of one process run: claim a batch, acknowledge each.
  t0 = performance.now();
  let delivered = 0;
  await Promise.all(
    Array.from({ length: claimers }, async () => {
      for (;;) {
        const leases = await queue.claim(batch);
        if (!leases.length) return;
        for (const lease of leases) if (await queue.complete(lease)) delivered += 1;
      }
    }),
  );
  const deliverS = (performance.now() - t0) / 1_000;
  if (delivered !== tasks) throw new Error(`delivered ${delivered} of ${tasks}`);
  return { enqueuePerS: tasks / enqueueS, deliveredPerS: delivered / deliverS };
}

async function redisAnswers(url: string): Promise<boolean> {
  const probe = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 500,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  probe.on('error', () => {});
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

async function dropPrefix(url: string, prefix: string) {
  const r = new Redis(url);
  let cursor = '0';
  do {
    const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1_000);
    cursor = next;
    if (keys.length) await r.del(...keys);
  } while (cursor !== '0');
  r.disconnect();
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rollgate-bench-queue-'));
const { db } = openServiceDb(path.join(dir, 'service.db'));
const sqlite = await measure(createSqliteQueue({ db, clock: systemClock }));
db.close();
fs.rmSync(dir, { recursive: true, force: true });
console.log(`${tasks} tasks, ${claimers} claimers taking ${batch} at a time, one process`);
console.log(
  `sqlite: ${fmt(sqlite.enqueuePerS)} enqueues/s, ${fmt(sqlite.deliveredPerS)} deliveries/s (claim + complete)`,
);

const url = process.env.ROLLGATE_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
if (await redisAnswers(url)) {
  const prefix = `rollgate-bench-${process.pid}`;
  const queue = createRedisQueue({ url, prefix, log: silentLogger });
  try {
    const redis = await measure(queue);
    console.log(
      `redis:  ${fmt(redis.enqueuePerS)} enqueues/s, ${fmt(redis.deliveredPerS)} deliveries/s (claim + complete)`,
    );
    console.log(
      `redis / sqlite: enqueue ${(redis.enqueuePerS / sqlite.enqueuePerS).toFixed(2)}×, deliveries ${(redis.deliveredPerS / sqlite.deliveredPerS).toFixed(2)}×`,
    );
  } finally {
    await queue.close();
    await dropPrefix(url, prefix);
  }
} else {
  console.log(`redis: not measured, nothing answers at ${new URL(url).host} (set ROLLGATE_BENCH_REDIS_URL)`);
}
