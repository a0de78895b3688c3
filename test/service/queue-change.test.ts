// The queueing change through HTTP with the real SDK: inline when off, enqueued and processed by workers when on.
import { describe, expect, it } from 'vitest';
import { type Harness, settled, signalTotals, useHarnesses } from './harness.ts';

const start = useHarnesses();

const task = (userId: string, n = 0) => ({
  tenantId: 'acme',
  userId,
  type: 'self-improvement',
  input: { n },
});

/** Users the SDK serves the change to, or not (the plan keeps a 2 % holdback on control even at 100 %). */
const users = (h: Harness, n: number, on = true) =>
  Array.from({ length: 500 }, (_, i) => `user-${i}`)
    .filter((userId) => h.service.flags.isEnabled('queue.async-tasks', { userId, tenantId: 'acme' }) === on)
    .slice(0, n);

describe('queueing change (queue.async-tasks) through the real SDK', () => {
  it('with the flag off, processes the task inline and answers 201 with its result', async () => {
    const h = await start();
    const res = await h.call('POST', '/service/tasks', task('user-1'));
    expect(res.status).toBe(201);
    expect(res.body.task).toMatchObject({ mode: 'inline', status: 'done', attempts: 1, error: null });
    expect(res.body.task.result).toMatchObject({ outcome: 'improved' });
    expect(await h.service.queue.stats()).toMatchObject({ ready: 0, leased: 0, done: 0 });
  });

  it('with the flag on, enqueues and answers 202 with the task id; a worker then processes it', async () => {
    const h = await start();
    await h.toFull('queue.async-tasks');
    const [userId] = users(h, 1);
    if (!userId) throw new Error('no user in the rollout');
    const res = await h.call('POST', '/service/tasks', task(userId));
    expect(res.status).toBe(202);
    expect(res.body.task).toMatchObject({ mode: 'queued', status: 'queued', result: null });
    expect(res.headers.get('location')).toBe(`/service/tasks/${res.body.task.id}`);
    const done = await settled(h, res.body.task.id);
    expect(done.body.task).toMatchObject({ mode: 'queued', status: 'done', attempts: 1 });
    expect(done.body.task.result).toMatchObject({ outcome: 'improved' });
    expect(h.service.tasks.usage('acme')).toBe(1);
  });

  it('wakes the workers when a task is enqueued, so it never waits for the next poll', async () => {
    // A poll an hour away: the task can only finish because the enqueue woke the workers.
    const h = await start({ workers: { pollMs: 3_600_000 } });
    await h.toFull('queue.async-tasks');
    const [userId] = users(h, 1);
    if (!userId) throw new Error('no user in the rollout');
    const res = await h.call('POST', '/service/tasks', task(userId));
    expect(res.status).toBe(202);
    const done = await settled(h, res.body.task.id);
    expect(done.body.task).toMatchObject({ mode: 'queued', status: 'done', attempts: 1 });
  });

  it('serves the queued path only to users in the rollout, and the same path to a user every time', async () => {
    const h = await start();
    await h.admin('queue.async-tasks', 'rollout/start');
    await h.admin('queue.async-tasks', 'rollout/promote');
    await h.admin('queue.async-tasks', 'rollout/promote');
    const modes = new Map<string, Set<string>>();
    for (let i = 0; i < 40; i++) {
      for (let n = 0; n < 2; n++) {
        const res = await h.call('POST', '/service/tasks', task(`user-${i}`, n));
        const seen = modes.get(`user-${i}`) ?? new Set();
        seen.add(res.body.task.mode);
        modes.set(`user-${i}`, seen);
      }
    }
    for (const seen of modes.values()) expect(seen.size).toBe(1);
    const queued = [...modes.values()].filter((s) => s.has('queued')).length;
    expect(queued).toBeGreaterThan(0);
    expect(queued).toBeLessThan(40);
  });

  it('retries failed attempts on the queued path and reports failures and processing time per arm', async () => {
    const h = await start({
      work: { workMs: 1, failureRate: 0, queueDefectRate: 0.5 },
      queue: { backoffBaseMs: 5, backoffMaxMs: 20 },
    });
    await h.toFull('queue.async-tasks');
    const ids: string[] = [];
    for (const userId of users(h, 10))
      ids.push((await h.call('POST', '/service/tasks', task(userId))).body.task.id);
    const [heldBack] = users(h, 1, false);
    if (!heldBack) throw new Error('no user in the holdback');
    const inline = await h.call('POST', '/service/tasks', task(heldBack));
    expect(inline.body.task).toMatchObject({ mode: 'inline', status: 'done' });
    const finals = await Promise.all(ids.map((id) => settled(h, id)));
    expect(finals.every((r) => ['done', 'dead'].includes(r.body.task.status))).toBe(true);
    const attempts = finals.reduce((sum, r) => sum + r.body.task.attempts, 0);
    expect(attempts).toBeGreaterThan(ids.length);

    const sum = await signalTotals(h, 'queue.async-tasks');
    // Every delivery is a request of the treatment arm, each failed attempt an error; the holdback user is control.
    expect(sum('treatment', 'requests')).toBe(attempts);
    expect(sum('treatment', 'latencyCount')).toBe(attempts);
    expect(sum('treatment', 'errors')).toBe(
      attempts - finals.filter((r) => r.body.task.status === 'done').length,
    );
    expect(sum('control', 'requests')).toBe(1);
    expect(sum('control', 'errors')).toBe(0);
  });

  it('answers GET /service/health with flag sync, queue depth, workers and signal delivery', async () => {
    const h = await start();
    const res = await h.call('GET', '/service/health');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      status: 'ok',
      flags: { synchronized: true },
      queue: { ready: 0, leased: 0, done: 0, dead: 0 },
      workers: { running: true, inflight: 0 },
      signals: { pending: 0, rejected: 0 },
    });
  });
});
