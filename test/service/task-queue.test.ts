// The TaskQueue contract, one set of cases run against every backend: SQLite always, Redis when one is there.
import { afterEach, describe, expect, it } from 'vitest';
import {
  backoffDelay,
  defaultQueuePolicy,
  type Lease,
  type TaskQueue,
} from '../../src/service/task-queue.ts';
import { type QueueUnderTest, queueBackends } from '../helpers/queue-backends.ts';

const policy = { leaseMs: 1_000, maxAttempts: 3, backoffBaseMs: 300, backoffMaxMs: 1_200 };

const backends = await queueBackends({ announce: true });

const open: QueueUnderTest[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

describe.each(backends)('task queue contract on $name', (backend) => {
  const start = async () => {
    const h = await backend.start(policy);
    open.push(h);
    return h;
  };

  /** Claims; on real time, keeps asking for a while, since Redis redelivers on its next stalled-job check. */
  const claimSoon = async (h: QueueUnderTest, q: TaskQueue, max = 1): Promise<Lease[]> => {
    const until = Date.now() + 10_000;
    for (;;) {
      const got = await q.claim(max);
      if (got.length || !h.realTime || Date.now() > until) return got;
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  /**
   * Nothing may be delivered before `at`. On real time a slow machine can reach `at` during the claim: what comes
   * then is fine, and is handed back so the case goes on with it.
   */
  const nothingBefore = async (h: QueueUnderTest, q: TaskQueue, at: number): Promise<Lease[]> => {
    const got = await q.claim(5);
    if (got.length) expect(h.now(), 'delivered before its time').toBeGreaterThanOrEqual(at);
    return got;
  };

  it('delivers each enqueued task to one claimer, oldest first, and enqueueing twice is a no-op', async () => {
    const h = await start();
    const { queue } = h;
    const enqueuedAt = h.now();
    expect(await queue.enqueue('a')).toBe(true);
    await h.pass(5);
    expect(await queue.enqueue('b')).toBe(true);
    expect(await queue.enqueue('a')).toBe(false);
    const first = await queue.claim(1);
    expect(first.map((l) => [l.taskId, l.attempt, l.maxAttempts, l.lastError])).toEqual([
      ['a', 1, policy.maxAttempts, null],
    ]);
    expect(first[0]?.enqueuedAt).toBeGreaterThanOrEqual(enqueuedAt);
    expect((await queue.claim(5)).map((l) => l.taskId)).toEqual(['b']);
    expect(await queue.claim(5)).toEqual([]);
    const stats = await queue.stats();
    expect(stats).toMatchObject({ ready: 0, leased: 2, done: 0, dead: 0 });
    expect(stats.oldestWaitingAt).toBe(first[0]?.enqueuedAt);
  });

  it('keeps a finished task finished: enqueueing it again changes nothing', async () => {
    const h = await start();
    await h.queue.enqueue('a');
    const [lease] = await h.queue.claim(1);
    if (!lease) throw new Error('expected a delivery');
    expect(await h.queue.complete(lease)).toBe(true);
    expect(await h.queue.enqueue('a')).toBe(false);
    expect(await h.queue.claim(5)).toEqual([]);
    expect(await h.queue.stats()).toEqual({ ready: 0, leased: 0, done: 1, dead: 0, oldestWaitingAt: null });
  });

  it('redelivers a task whose lease expired, and refuses the old holder afterwards', async () => {
    const h = await start();
    const { queue } = h;
    await queue.enqueue('a');
    const claimedAt = h.now();
    const [first] = await queue.claim(1);
    if (!first) throw new Error('expected a delivery');
    expect(first.leaseUntil).toBeGreaterThanOrEqual(claimedAt + policy.leaseMs);
    let [second] = await nothingBefore(h, queue, first.leaseUntil);
    if (!second) {
      await h.pass(Math.max(0, first.leaseUntil - h.now()));
      [second] = await claimSoon(h, queue);
    }
    expect(second).toMatchObject({ taskId: 'a', attempt: 2 });
    if (!second) throw new Error('expected a redelivery');
    expect(second.token).not.toBe(first.token);
    expect(await queue.complete(first)).toBe(false);
    expect(await queue.fail(first, 'late')).toEqual({ outcome: 'stale' });
    expect(await queue.complete(second)).toBe(true);
    expect(await queue.complete(second)).toBe(false);
    expect(await queue.stats()).toMatchObject({ ready: 0, leased: 0, done: 1, dead: 0 });
    expect(await h.deliveries('a')).toBe(2);
  });

  it('retries a failed task after an exponential backoff and dead-letters it after the last attempt', async () => {
    const h = await start();
    const { queue } = h;
    await queue.enqueue('a');
    const waits: number[] = [];
    let next = await queue.claim(1);
    for (let attempt = 1; attempt <= policy.maxAttempts; attempt++) {
      const [lease] = next;
      expect(lease).toMatchObject({
        taskId: 'a',
        attempt,
        lastError: attempt === 1 ? null : `boom ${attempt - 1}`,
      });
      if (!lease) throw new Error('expected a delivery');
      const before = h.now();
      const outcome = await queue.fail(lease, `boom ${attempt}`);
      const after = h.now();
      if (attempt === policy.maxAttempts) {
        expect(outcome).toEqual({ outcome: 'dead' });
        break;
      }
      if (outcome.outcome !== 'retry') throw new Error(`expected a retry, got ${outcome.outcome}`);
      // The delay is the policy's, counted from the moment of the failure.
      const delay = backoffDelay(policy, 'a', attempt);
      expect(outcome.retryAt).toBeGreaterThanOrEqual(before + delay);
      expect(outcome.retryAt).toBeLessThanOrEqual(after + delay);
      waits.push(delay);
      next = await nothingBefore(h, queue, outcome.retryAt);
      if (!next.length) {
        await h.pass(Math.max(0, outcome.retryAt - h.now()));
        next = await claimSoon(h, queue);
      }
    }
    expect(waits).toHaveLength(policy.maxAttempts - 1);
    expect(waits[1]).toBeGreaterThan(waits[0] ?? 0);
    await h.pass(policy.backoffMaxMs);
    expect(await queue.claim(1)).toEqual([]);
    expect(await queue.enqueue('a')).toBe(false);
    expect(await queue.stats()).toEqual({ ready: 0, leased: 0, done: 0, dead: 1, oldestWaitingAt: null });
  });

  it('hands out a task whose holders all died as exhausted, so it is dead-lettered instead of run again', async () => {
    const h = await start();
    const { queue } = h;
    await queue.enqueue('poison');
    for (let i = 1; i <= policy.maxAttempts; i++) {
      const got = await claimSoon(h, queue);
      expect(got.map((l) => l.attempt)).toEqual([i]);
      await h.pass(policy.leaseMs);
    }
    const [last] = await claimSoon(h, queue);
    expect(last).toMatchObject({ attempt: policy.maxAttempts + 1, maxAttempts: policy.maxAttempts });
    if (!last) throw new Error('expected a delivery');
    expect(await queue.fail(last, 'lease expired on every attempt')).toEqual({ outcome: 'dead' });
    expect(await queue.stats()).toMatchObject({ ready: 0, leased: 0, dead: 1 });
  });

  it('keeps its queue for another handle on the same storage, as after a restart', async () => {
    const h = await start();
    const at = h.now();
    await h.queue.enqueue('x');
    await h.pass(5);
    await h.queue.enqueue('y');
    const [held] = await h.queue.claim(1);
    expect(held?.taskId).toBe('x');
    const other = h.open();
    const stats = await other.stats();
    expect(stats).toMatchObject({ ready: 1, leased: 1, done: 0, dead: 0 });
    expect(stats.oldestWaitingAt).toBeGreaterThanOrEqual(at);
    expect(stats.oldestWaitingAt).toBe(held?.enqueuedAt);
    await h.pass(policy.leaseMs);
    const got: Lease[] = [];
    while (got.length < 2) {
      const more = await claimSoon(h, other, 5);
      if (!more.length) break;
      got.push(...more);
    }
    expect(got.map((l) => [l.taskId, l.attempt]).sort()).toEqual([
      ['x', 2],
      ['y', 1],
    ]);
  });

  it('never gives one task to two claimers at once', async () => {
    // Leases that cannot run out during the case: every delivery here is a first one.
    const h = await backend.start({ ...policy, leaseMs: 60_000 });
    open.push(h);
    const ids = Array.from({ length: 30 }, (_, i) => `t${i}`);
    for (const id of ids) await h.queue.enqueue(id);
    const claimers = [h.queue, h.open(), h.open()];
    const claimed = await Promise.all(
      claimers.map(async (q) => {
        const mine: string[] = [];
        for (;;) {
          const got = await q.claim(3);
          if (!got.length) return mine;
          mine.push(...got.map((l) => l.taskId));
        }
      }),
    );
    const all = claimed.flat();
    expect(all.sort()).toEqual([...ids].sort());
    expect(new Set(all).size).toBe(ids.length);
    expect(await h.queue.stats()).toMatchObject({ ready: 0, leased: ids.length });
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
