import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.ts';
import { openServiceDb } from '../../src/service/service-db.ts';
import { createSqliteQueue } from '../../src/service/sqlite-queue.ts';
import { backoffDelay, defaultQueuePolicy } from '../../src/service/task-queue.ts';
import { tempDir } from '../helpers/rollgate.ts';

const policy = { leaseMs: 1_000, maxAttempts: 3, backoffBaseMs: 100, backoffMaxMs: 1_000 };

function setup() {
  const clock = manualClock();
  const { db } = openServiceDb(path.join(tempDir(), 'service.db'));
  const queue = createSqliteQueue({ db, clock, policy });
  return { clock, db, queue };
}

describe('SQLite task queue', () => {
  it('delivers each enqueued task to one claimer, oldest first, and enqueueing twice is a no-op', async () => {
    const { clock, queue } = setup();
    expect(await queue.enqueue('a')).toBe(true);
    clock.advance(1);
    await queue.enqueue('b');
    expect(await queue.enqueue('a')).toBe(false);
    const first = await queue.claim(1);
    expect(first.map((l) => [l.taskId, l.attempt])).toEqual([['a', 1]]);
    expect((await queue.claim(5)).map((l) => l.taskId)).toEqual(['b']);
    expect(await queue.claim(5)).toEqual([]);
    expect(await queue.stats()).toMatchObject({ ready: 0, leased: 2, done: 0, dead: 0 });
  });

  it('redelivers a task whose lease expired, and refuses the old holder afterwards', async () => {
    const { clock, queue } = setup();
    await queue.enqueue('a');
    const [first] = await queue.claim(1);
    clock.advance(policy.leaseMs - 1);
    expect(await queue.claim(1)).toEqual([]);
    clock.advance(1);
    const [second] = await queue.claim(1);
    expect(second).toMatchObject({ taskId: 'a', attempt: 2 });
    if (!first || !second) throw new Error('expected two deliveries');
    expect(await queue.complete(first)).toBe(false);
    expect(await queue.fail(first, 'late')).toEqual({ outcome: 'stale' });
    expect(await queue.complete(second)).toBe(true);
    expect(await queue.stats()).toMatchObject({ leased: 0, done: 1 });
  });

  it('retries a failed task after an exponential backoff and dead-letters it after the last attempt', async () => {
    const { clock, queue } = setup();
    await queue.enqueue('a');
    const waits: number[] = [];
    for (let attempt = 1; attempt <= policy.maxAttempts; attempt++) {
      const [lease] = await queue.claim(1);
      expect(lease).toMatchObject({
        taskId: 'a',
        attempt,
        lastError: attempt === 1 ? null : `boom ${attempt - 1}`,
      });
      if (!lease) throw new Error('expected a delivery');
      const outcome = await queue.fail(lease, `boom ${attempt}`);
      if (attempt === policy.maxAttempts) {
        expect(outcome).toEqual({ outcome: 'dead' });
        break;
      }
      if (outcome.outcome !== 'retry') throw new Error(`expected a retry, got ${outcome.outcome}`);
      const wait = outcome.retryAt - clock();
      waits.push(wait);
      expect(wait).toBe(backoffDelay(policy, 'a', attempt));
      clock.advance(wait - 1);
      expect(await queue.claim(1)).toEqual([]);
      clock.advance(1);
    }
    expect(waits[1]).toBeGreaterThan(waits[0] ?? 0);
    clock.advance(60_000);
    expect(await queue.claim(1)).toEqual([]);
    expect(await queue.stats()).toMatchObject({ ready: 0, leased: 0, dead: 1, oldestWaitingAt: null });
  });

  it('hands out a task whose holders all died as exhausted, so it is dead-lettered instead of run again', async () => {
    const { clock, queue } = setup();
    await queue.enqueue('poison');
    for (let i = 0; i < policy.maxAttempts; i++) {
      expect(await queue.claim(1)).toHaveLength(1);
      clock.advance(policy.leaseMs);
    }
    const [last] = await queue.claim(1);
    expect(last).toMatchObject({ attempt: policy.maxAttempts + 1, maxAttempts: policy.maxAttempts });
    if (!last) throw new Error('expected a delivery');
    expect(await queue.fail(last, 'lease expired on every attempt')).toEqual({ outcome: 'dead' });
  });

  it('keeps its queue across a reopen of the database file', async () => {
    const clock = manualClock();
    const file = path.join(tempDir(), 'service.db');
    const a = openServiceDb(file);
    const q1 = createSqliteQueue({ db: a.db, clock, policy });
    await q1.enqueue('x');
    await q1.enqueue('y');
    await q1.claim(1);
    a.db.close();
    const b = openServiceDb(file);
    const q2 = createSqliteQueue({ db: b.db, clock, policy });
    expect(await q2.stats()).toMatchObject({ ready: 1, leased: 1, oldestWaitingAt: clock() });
    clock.advance(policy.leaseMs);
    expect((await q2.claim(5)).map((l) => l.taskId).sort()).toEqual(['x', 'y']);
    b.db.close();
  });
});

describe('backoffDelay', () => {
  it('doubles per attempt up to the cap, with a deterministic spread within the upper half', () => {
    const p = { ...defaultQueuePolicy, backoffBaseMs: 1_000, backoffMaxMs: 16_000 };
    for (let attempt = 1; attempt <= 8; attempt++) {
      const full = Math.min(16_000, 1_000 * 2 ** (attempt - 1));
      const d = backoffDelay(p, 'task-1', attempt);
      expect(d).toBeGreaterThanOrEqual(full / 2);
      expect(d).toBeLessThanOrEqual(full);
      expect(backoffDelay(p, 'task-1', attempt)).toBe(d);
    }
    const spread = new Set(Array.from({ length: 20 }, (_, i) => backoffDelay(p, `t${i}`, 3)));
    expect(spread.size).toBeGreaterThan(10);
  });
});
