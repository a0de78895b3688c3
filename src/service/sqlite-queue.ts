// The durable TaskQueue on SQLite: leases with a visibility timeout, retries with backoff, a dead-letter state.
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.ts';
import type { Db } from '../db/open.ts';
import {
  backoffDelay,
  defaultQueuePolicy,
  type FailOutcome,
  type Lease,
  type QueuePolicy,
  type QueueStats,
  type TaskQueue,
} from './task-queue.ts';

interface Row {
  task_id: string;
  attempts: number;
  enqueued_at: number;
  last_error: string | null;
}

export function createSqliteQueue(deps: {
  db: Db;
  clock: Clock;
  policy?: Partial<QueuePolicy>;
  newToken?: () => string;
}): TaskQueue & { policy: QueuePolicy } {
  const { db, clock } = deps;
  const policy = { ...defaultQueuePolicy, ...deps.policy };
  const newToken = deps.newToken ?? randomUUID;

  const insert = db.prepare(
    `INSERT OR IGNORE INTO task_queue (task_id, state, attempts, available_at, enqueued_at, updated_at)
     VALUES (@taskId, 'ready', 0, @now, @now, @now)`,
  );
  // A leased row whose lease ran out is claimable again: that is the redelivery after a crash.
  const claimable = db.prepare<{ now: number; max: number }, Row>(
    `SELECT task_id, attempts, enqueued_at, last_error FROM task_queue
     WHERE (state = 'ready' AND available_at <= @now) OR (state = 'leased' AND lease_until <= @now)
     ORDER BY available_at, enqueued_at LIMIT @max`,
  );
  const lease = db.prepare(
    `UPDATE task_queue SET state = 'leased', attempts = attempts + 1, lease_until = @until, lease_token = @token,
       updated_at = @now WHERE task_id = @taskId`,
  );
  const held = db.prepare<{ taskId: string; token: string }, { attempts: number }>(
    `SELECT attempts FROM task_queue WHERE task_id = @taskId AND state = 'leased' AND lease_token = @token`,
  );
  const done = db.prepare(
    `UPDATE task_queue SET state = 'done', lease_until = NULL, lease_token = NULL, updated_at = @now
     WHERE task_id = @taskId AND state = 'leased' AND lease_token = @token`,
  );
  const retry = db.prepare(
    `UPDATE task_queue SET state = 'ready', available_at = @at, lease_until = NULL, lease_token = NULL,
       last_error = @error, updated_at = @now WHERE task_id = @taskId`,
  );
  const dead = db.prepare(
    `UPDATE task_queue SET state = 'dead', lease_until = NULL, lease_token = NULL, last_error = @error,
       updated_at = @now WHERE task_id = @taskId`,
  );
  const counts = db.prepare<[], { state: string; n: number }>(
    'SELECT state, COUNT(*) AS n FROM task_queue GROUP BY state',
  );
  const oldest = db.prepare<[], { at: number | null }>(
    `SELECT MIN(enqueued_at) AS at FROM task_queue WHERE state IN ('ready', 'leased')`,
  );

  const claim = db.transaction((max: number): Lease[] => {
    const now = clock();
    const until = now + policy.leaseMs;
    return claimable.all({ now, max }).map((r) => {
      const token = newToken();
      lease.run({ taskId: r.task_id, until, token, now });
      return {
        taskId: r.task_id,
        token,
        attempt: r.attempts + 1,
        maxAttempts: policy.maxAttempts,
        enqueuedAt: r.enqueued_at,
        leaseUntil: until,
        lastError: r.last_error,
      };
    });
  });

  const fail = db.transaction((l: Lease, error: string): FailOutcome => {
    const row = held.get({ taskId: l.taskId, token: l.token });
    if (!row) return { outcome: 'stale' };
    const now = clock();
    if (row.attempts >= policy.maxAttempts) {
      dead.run({ taskId: l.taskId, error, now });
      return { outcome: 'dead' };
    }
    const at = now + backoffDelay(policy, l.taskId, row.attempts);
    retry.run({ taskId: l.taskId, at, error, now });
    return { outcome: 'retry', retryAt: at };
  });

  return {
    policy,
    async enqueue(taskId) {
      return insert.run({ taskId, now: clock() }).changes === 1;
    },
    // IMMEDIATE takes the write lock before reading, so two processes never lease the same row.
    async claim(max) {
      return max > 0 ? claim.immediate(max) : [];
    },
    async complete(l) {
      return done.run({ taskId: l.taskId, token: l.token, now: clock() }).changes === 1;
    },
    async fail(l, error) {
      return fail.immediate(l, error);
    },
    async stats(): Promise<QueueStats> {
      const by = Object.fromEntries(counts.all().map((r) => [r.state, r.n]));
      return {
        ready: by.ready ?? 0,
        leased: by.leased ?? 0,
        done: by.done ?? 0,
        dead: by.dead ?? 0,
        oldestWaitingAt: oldest.get()?.at ?? null,
      };
    },
    // The database belongs to the service, which closes it.
    async close() {},
  };
}
