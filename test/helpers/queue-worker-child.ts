// A worker process for the crash test: runs queue workers (on the SQLite or the Redis queue) until it is drained.
import { systemClock } from '../../src/clock.ts';
import { createLogger } from '../../src/log.ts';
import { createRedisQueue } from '../../src/service/redis-queue.ts';
import { openServiceDb } from '../../src/service/service-db.ts';
import { defaultWorkKnobs } from '../../src/service/simulate.ts';
import { createSqliteQueue } from '../../src/service/sqlite-queue.ts';
import { createTaskStore } from '../../src/service/task-store.ts';
import { createWorkers } from '../../src/service/workers.ts';

const env = (name: string, fallback?: string) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) throw new Error(`${name} is required`);
  return v;
};

const { db } = openServiceDb(env('SERVICE_DB'));
const policy = { leaseMs: Number(env('LEASE_MS', '1000')), backoffBaseMs: 10, backoffMaxMs: 100 };
// QUEUE_URL puts the queue on Redis under QUEUE_PREFIX; the tasks stay in the service database either way.
const queueUrl = process.env.QUEUE_URL;
const queue = queueUrl
  ? createRedisQueue({
      url: queueUrl,
      prefix: env('QUEUE_PREFIX'),
      policy,
      checkEveryMs: 50,
      log: createLogger('error'),
    })
  : createSqliteQueue({ db, clock: systemClock, policy });
const tasks = createTaskStore(db);
const pollMs = Number(env('POLL_MS', '10'));
const knobs = { ...defaultWorkKnobs, workMs: Number(env('WORK_MS', '50')), failureRate: 0 };
// One line per event on stdout, so the parent can kill this process at a known point.
const workers = createWorkers({
  queue,
  tasks,
  clock: systemClock,
  log: createLogger('error'),
  knobs: () => knobs,
  options: { concurrency: Number(env('CONCURRENCY', '4')), pollMs },
  onStart: (lease) => process.stdout.write(`start ${lease.taskId} ${lease.attempt}\n`),
  onAttempt: (o) => process.stdout.write(`done ${o.task.id} ${o.attempt} ${o.ok}\n`),
});
workers.start();
process.stdout.write('ready\n');

for (;;) {
  await new Promise((r) => setTimeout(r, pollMs));
  const stats = await queue.stats();
  if (stats.ready + stats.leased === 0) break;
}
await workers.stop();
await queue.close();
db.close();
process.stdout.write('drained\n');
