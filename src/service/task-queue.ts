// The queue contract the workers depend on, kept by the SQLite queue (the default) and the Redis one alike.
import { createHash } from 'node:crypto';

/** One delivery of a task to one worker, valid until its lease runs out. */
export interface Lease {
  taskId: string;
  /** Identifies this delivery: complete and fail are refused once another worker holds the task. */
  token: string;
  /** 1 for the first delivery; a lease that expired counts as a delivery. */
  attempt: number;
  maxAttempts: number;
  enqueuedAt: number;
  leaseUntil: number;
  lastError: string | null;
}

export type FailOutcome =
  | { outcome: 'retry'; retryAt: number }
  | { outcome: 'dead' }
  /** The lease had expired and the task went to another worker; that worker decides. */
  | { outcome: 'stale' };

export interface QueueStats {
  ready: number;
  leased: number;
  done: number;
  dead: number;
  /** Enqueue time of the oldest task waiting, for queue-age alerts. */
  oldestWaitingAt: number | null;
}

export interface QueuePolicy {
  /** Visibility timeout: a task not completed within this is delivered again. */
  leaseMs: number;
  /** Deliveries before a task is dead-lettered. */
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export const defaultQueuePolicy: QueuePolicy = {
  leaseMs: 30_000,
  maxAttempts: 5,
  backoffBaseMs: 500,
  backoffMaxMs: 60_000,
};

/**
 * At-least-once delivery: a task may be delivered again after a crash or an expired lease, so the handler must be
 * idempotent. Every method may be asynchronous, as a networked queue would be.
 */
export interface TaskQueue {
  /** Idempotent: enqueueing a task that is already queued (or finished) changes nothing and answers false. */
  enqueue(taskId: string): Promise<boolean>;
  claim(max: number): Promise<Lease[]>;
  /** False when the lease was lost (expired and re-delivered); the result write must not depend on it. */
  complete(lease: Lease): Promise<boolean>;
  fail(lease: Lease, error: string): Promise<FailOutcome>;
  stats(): Promise<QueueStats>;
  /** Releases what the queue itself opened (connections); a queue on a database the caller owns closes nothing. */
  close(): Promise<void>;
}

/**
 * Exponential backoff with deterministic jitter: half the delay fixed, half spread by a hash of task and attempt,
 * so retries of many tasks failing together do not arrive together, and a rerun with the same tasks is identical.
 */
export function backoffDelay(policy: QueuePolicy, taskId: string, attempt: number): number {
  const full = Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** Math.max(0, attempt - 1));
  const spread = createHash('sha256').update(`${taskId}:${attempt}`).digest().readUInt32BE(0) / 2 ** 32;
  return Math.round(full / 2 + (full / 2) * spread);
}
