// The TaskQueue on Redis through BullMQ: a lease is a job lock, redelivery is BullMQ's stalled-job check.
import { randomUUID } from 'node:crypto';
import { Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from '../log.ts';
import {
  backoffDelay,
  defaultQueuePolicy,
  type FailOutcome,
  type Lease,
  type QueuePolicy,
  type QueueStats,
  type TaskQueue,
} from './task-queue.ts';

export interface RedisQueueOptions {
  /** redis:// or rediss:// with optional user, password and database number. */
  url: string;
  /** Key prefix, so several Rollgates (or tests) share one Redis without sharing a queue. */
  prefix?: string;
  name?: string;
  policy?: Partial<QueuePolicy>;
  /**
   * How often the stalled-job check runs: a lease that ran out is redelivered within this after it did.
   * Defaults to a quarter of the lease, between 50 ms and 5 s.
   */
  checkEveryMs?: number;
  log: Logger;
  newToken?: () => string;
}

// BullMQ refuses ids that look like integers or hold ':'; a fixed prefix over an encoding keeps the map one-to-one.
export const jobIdOf = (taskId: string) => `task-${encodeURIComponent(taskId)}`;
const taskIdOf = (jobId: string) => decodeURIComponent(jobId.slice('task-'.length));

/** BullMQ's codes for "this token no longer holds the job": gone, lock expired, not active, or locked by another. */
const lostLeaseCodes = new Set([-1, -2, -3, -6]);
const lostLease = (err: unknown) =>
  typeof err === 'object' && err !== null && lostLeaseCodes.has((err as { code?: unknown }).code as number);

export function createRedisQueue(deps: RedisQueueOptions): TaskQueue & { policy: QueuePolicy } {
  const policy = { ...defaultQueuePolicy, ...deps.policy };
  const prefix = deps.prefix ?? 'rollgate';
  const name = deps.name ?? 'tasks';
  const newToken = deps.newToken ?? randomUUID;
  const checkEveryMs = deps.checkEveryMs ?? Math.max(50, Math.min(5_000, Math.round(policy.leaseMs / 4)));
  const log = deps.log;

  // Enqueue and stats fail fast when Redis is away (the request gets an error, not a hang); the worker's
  // connection waits for Redis to come back, as BullMQ requires of workers.
  const conn = new Redis(deps.url, { maxRetriesPerRequest: 2, connectTimeout: 5_000 });
  const queue = new Queue(name, { connection: conn, prefix });
  let reported = 0;
  const onError = (err: Error) => {
    // A Redis outage repeats its error on every reconnect attempt: one line every ten seconds is enough.
    if (Date.now() - reported < 10_000) return;
    reported = Date.now();
    log.error('redis queue connection error', { err: err.message });
  };
  conn.on('error', onError);
  queue.on('error', onError);
  // Enqueue times of tasks not finished yet, for oldestWaitingAt; entries of finished jobs are pruned lazily.
  const openKey = `${prefix}:${name}:rollgate-open`;

  let workerConn: Redis | undefined;
  let worker: Worker | undefined;
  /** The worker only fetches by hand (no processor, no lock renewal); made on the first lease operation. */
  const leaseWorker = (): Worker => {
    if (worker) return worker;
    workerConn = new Redis(deps.url, { maxRetriesPerRequest: null, connectTimeout: 5_000 });
    workerConn.on('error', onError);
    worker = new Worker(name, null, {
      connection: workerConn,
      prefix,
      autorun: false,
      skipLockRenewal: true,
      // The lock is the lease: it is not renewed, so a task not finished within leaseMs is delivered again.
      lockDuration: policy.leaseMs,
      stalledInterval: checkEveryMs,
      // Every lost lease is a delivery: the workers dead-letter a task delivered more than maxAttempts times
      // (writing the task's outcome first), so BullMQ itself never fails a stalled job.
      maxStalledCount: Number.MAX_SAFE_INTEGER,
      // Deliveries, not failures, decide: the same rule as the SQLite queue.
      maxStartedAttempts: policy.maxAttempts,
      // BullMQ hands its Job to the strategy (typed as the minimal job), attemptsStarted included.
      settings: { backoffStrategy: (_made, _type, _err, job) => retryDelay(job as Job | undefined) },
    });
    worker.on('error', onError);
    void worker.startStalledCheckTimer();
    return worker;
  };
  const retryDelay = (job: Job | undefined) =>
    job?.id ? backoffDelay(policy, taskIdOf(job.id), job.attemptsStarted) : policy.backoffBaseMs;

  /**
   * BullMQ waits without limit for a connection to become ready, and ioredis retries a command across
   * reconnects: a call made while Redis is away waits at most readyWaitMs for the connection, then fails.
   */
  const readyWaitMs = 1_000;
  const reachable = () =>
    conn.status === 'ready'
      ? Promise.resolve()
      : new Promise<void>((resolve, reject) => {
          const ready = () => {
            clearTimeout(timer);
            resolve();
          };
          const timer = setTimeout(() => {
            conn.off('ready', ready);
            reject(new Error(`redis queue not connected (${conn.status})`));
          }, readyWaitMs);
          conn.once('ready', ready);
        });

  // Read fresh, with the worker as its queue: its options (attempt limit, backoff) decide a failure.
  const fetchJob = (taskId: string): Promise<Job | undefined> => Job.fromId(leaseWorker(), jobIdOf(taskId));

  return {
    policy,
    async enqueue(taskId) {
      await reachable();
      // Checked first only to answer the boolean: the add itself is idempotent (same job id, no second job).
      // Two enqueues of one task at the same instant may both answer true; still only one job exists.
      if ((await conn.exists(queue.toKey(jobIdOf(taskId)))) === 1) return false;
      const at = Date.now();
      await queue.add(
        'task',
        {},
        {
          jobId: jobIdOf(taskId),
          timestamp: at,
          // The worker's maxStartedAttempts decides, so the policy in force applies to tasks already queued.
          attempts: Number.MAX_SAFE_INTEGER,
          backoff: { type: 'rollgate' },
          // Finished jobs stay, as the SQLite rows do: a later enqueue of the same task stays a no-op.
          removeOnComplete: false,
          removeOnFail: false,
          stackTraceLimit: 0,
        },
      );
      await conn.zadd(openKey, 'NX', at, taskId);
      return true;
    },
    async claim(max) {
      const w = leaseWorker();
      const leases: Lease[] = [];
      while (leases.length < max) {
        const token = newToken();
        // Taken before the call: the lock is set later, so the lease really lasts at least until leaseUntil.
        const until = Date.now() + policy.leaseMs;
        const job = await w.getNextJob(token, { block: false });
        if (!job?.id) break;
        leases.push({
          taskId: taskIdOf(job.id),
          token,
          attempt: job.attemptsStarted,
          maxAttempts: policy.maxAttempts,
          enqueuedAt: job.timestamp,
          leaseUntil: until,
          lastError: job.failedReason || null,
        });
      }
      return leases;
    },
    async complete(l) {
      const job = await fetchJob(l.taskId);
      if (!job) return false;
      try {
        await job.moveToCompleted(null, l.token, false);
      } catch (err) {
        if (lostLease(err)) return false;
        throw err;
      }
      await conn.zrem(openKey, l.taskId);
      return true;
    },
    async fail(l, error) {
      const job = await fetchJob(l.taskId);
      if (!job) return { outcome: 'stale' };
      // BullMQ makes the same decision from the same job: retry while deliveries < maxAttempts.
      const retry = job.attemptsStarted < policy.maxAttempts;
      const retryAt = Date.now() + (retry ? retryDelay(job) : 0);
      try {
        await job.moveToFailed(new Error(error), l.token, false);
      } catch (err) {
        if (lostLease(err)) return { outcome: 'stale' };
        throw err;
      }
      if (retry) return { outcome: 'retry', retryAt };
      await conn.zrem(openKey, l.taskId);
      return { outcome: 'dead' } satisfies FailOutcome;
    },
    async stats(): Promise<QueueStats> {
      await reachable();
      const c = await queue.getJobCounts('wait', 'prioritized', 'delayed', 'active', 'completed', 'failed');
      return {
        ready: (c.wait ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0),
        leased: c.active ?? 0,
        done: c.completed ?? 0,
        dead: c.failed ?? 0,
        oldestWaitingAt: await oldestOpen(),
      };
    },
    async close() {
      // BullMQ's close waits for a connection that a Redis which is away never gives: it gets a second.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([worker?.close(), queue.close()]),
        new Promise((resolve) => {
          timer = setTimeout(resolve, 1_000);
        }),
      ]);
      clearTimeout(timer);
      conn.disconnect();
      workerConn?.disconnect();
    },
  };

  /** The lowest enqueue time among unfinished tasks; an index entry a crash left behind is dropped here. */
  async function oldestOpen(): Promise<number | null> {
    for (let i = 0; i < 100; i++) {
      const [taskId, score] = await conn.zrange(openKey, '0', '0', 'WITHSCORES');
      if (taskId === undefined || score === undefined) return null;
      const key = queue.toKey(jobIdOf(taskId));
      const [exists, finished] = await Promise.all([conn.exists(key), conn.hexists(key, 'finishedOn')]);
      if (exists === 1 && finished === 0) return Number(score);
      await conn.zrem(openKey, taskId);
    }
    return null;
  }
}
