// The one workers implementation on each queue backend: redelivery to effect-once, retries, dead letters, backlog.
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.ts';
import { openServiceDb } from '../../src/service/service-db.ts';
import { defaultWorkKnobs, planWork, type WorkKnobs } from '../../src/service/simulate.ts';
import { createTaskStore, type NewTask } from '../../src/service/task-store.ts';
import { type AttemptOutcome, createWorkers } from '../../src/service/workers.ts';
import { type QueueUnderTest, queueBackends } from '../helpers/queue-backends.ts';
import { tempDir } from '../helpers/rollgate.ts';

const policy = { leaseMs: 600, maxAttempts: 3, backoffBaseMs: 100, backoffMaxMs: 400 };
const backends = await queueBackends({ announce: false });

const open: QueueUnderTest[] = [];
const dbs: Array<{ close(): void }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
  for (const db of dbs.splice(0)) db.close();
});

const newTask = (id: string, tenantId: string, createdAt: number): NewTask => ({
  id,
  tenantId,
  userId: `user-${id}`,
  type: 'self-improvement',
  input: { n: id },
  mode: 'queued',
  status: 'queued',
  createdAt,
});

describe.each(backends)('queue workers on $name', (backend) => {
  async function setup(knobs: Partial<WorkKnobs> = {}, opts: { realClock?: boolean } = {}) {
    const h = await backend.start(policy, opts);
    open.push(h);
    const { db } = openServiceDb(path.join(tempDir(), 'service.db'));
    dbs.push(db);
    const tasks = createTaskStore(db);
    const outcomes: AttemptOutcome[] = [];
    let work: WorkKnobs = { ...defaultWorkKnobs, workMs: 0, failureRate: 0, ...knobs };
    const worker = (o: { onStart?: () => void; pollMs?: number } = {}) =>
      createWorkers({
        queue: h.queue,
        tasks,
        clock: h.now,
        log: silentLogger,
        knobs: () => work,
        options: { concurrency: 2, pollMs: o.pollMs ?? 5 },
        onAttempt: (x) => outcomes.push(x),
        ...(o.onStart ? { onStart: o.onStart } : {}),
      });
    const add = async (id: string, tenantId = 'acme') => {
      tasks.insert(newTask(id, tenantId, h.now()));
      await h.queue.enqueue(id);
    };
    /** Drains until something was handled: on Redis a redelivery waits for the next stalled-job check. */
    const drainSoon = async (w: ReturnType<typeof worker>) => {
      const until = Date.now() + 10_000;
      for (;;) {
        const n = await w.drain();
        if (n || !h.realTime || Date.now() > until) return n;
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const setWork = (next: Partial<WorkKnobs>) => {
      work = { ...work, ...next };
    };
    return { h, tasks, outcomes, worker, add, drainSoon, setWork, work: () => work };
  }

  it('runs a task delivered twice (its first lease expired) with the effect of once', async () => {
    const { h, tasks, outcomes, worker, add, drainSoon, setWork, work } = await setup();
    await add('t1');
    if (h.realTime) {
      // The first attempt must outlast its lease by far, so the redelivery runs while it still does.
      const subject = newTask('t1', 'acme', 0);
      const perSecond = planWork({ ...work(), workMs: 1_000 }, subject, 1, 'queued').durationMs;
      setWork({ workMs: Math.ceil((1_000 * 6 * policy.leaseMs) / Math.max(1, perSecond)) });
      expect(planWork(work(), subject, 1, 'queued').durationMs).toBeGreaterThan(3 * policy.leaseMs);
    }
    const second = worker();
    let interleaved: Promise<number> | undefined;
    // While the first worker runs, its lease runs out and a second worker takes the same task.
    const first = worker({
      onStart: () => {
        if (interleaved) return;
        interleaved = (async () => {
          await h.pass(policy.leaseMs);
          setWork({ workMs: 0 });
          return drainSoon(second);
        })();
      },
    });
    await first.drain();
    expect(await interleaved).toBe(1);
    expect(outcomes.map((o) => [o.attempt, o.ok]).sort()).toEqual([
      [1, true],
      [2, true],
    ]);
    // Whichever attempt finished first wrote the result and billed it; the other changed nothing.
    expect(tasks.get('t1')).toMatchObject({ status: 'done', attempts: outcomes[0]?.attempt });
    expect(tasks.usage('acme')).toBe(1);
    expect(await h.queue.stats()).toMatchObject({ done: 1, leased: 0, ready: 0 });
  });

  it('acknowledges a redelivered task that is already done without running it again', async () => {
    const { h, tasks, worker, add, drainSoon } = await setup();
    await add('t1');
    await h.queue.claim(1);
    tasks.complete('t1', { by: 'a worker that died before its ack' }, 1, h.now());
    await h.pass(policy.leaseMs);
    let started = 0;
    expect(await drainSoon(worker({ onStart: () => started++ }))).toBe(1);
    expect(started).toBe(0);
    expect(tasks.usage('acme')).toBe(1);
    expect(await h.queue.stats()).toMatchObject({ done: 1, leased: 0 });
  });

  it('retries failing attempts with backoff and dead-letters the task after the last one', async () => {
    const { h, tasks, outcomes, worker, add, drainSoon } = await setup({ queueDefectRate: 1 });
    await add('t1');
    const w = worker();
    for (let i = 0; i < policy.maxAttempts; i++) {
      expect(await drainSoon(w)).toBe(1);
      await h.pass(policy.backoffMaxMs);
    }
    expect(outcomes.map((o) => [o.attempt, o.ok, o.deadLettered])).toEqual([
      [1, false, false],
      [2, false, false],
      [3, false, true],
    ]);
    expect(tasks.get('t1')).toMatchObject({ status: 'dead', attempts: 3 });
    expect(tasks.get('t1')?.error).toMatch(/simulated queued failure on attempt 3/);
    expect(tasks.usage('acme')).toBe(0);
    expect(await h.queue.stats()).toMatchObject({ dead: 1, ready: 0, leased: 0 });
  });

  it('dead-letters a task its database does not know instead of acknowledging it away', async () => {
    const { h, tasks, worker, drainSoon } = await setup();
    await h.queue.enqueue('elsewhere');
    const w = worker();
    for (let i = 0; i < policy.maxAttempts; i++) {
      expect(await drainSoon(w)).toBe(1);
      await h.pass(policy.backoffMaxMs);
    }
    expect(tasks.get('elsewhere')).toBeUndefined();
    expect(await h.queue.stats()).toMatchObject({ done: 0, dead: 1, ready: 0, leased: 0 });
  });

  it('processes a backlog in the background and finishes what is in flight when stopped', async () => {
    const { tasks, worker, add } = await setup({ workMs: 2 }, { realClock: true });
    const w = worker({ pollMs: 2 });
    w.start();
    const ids = Array.from({ length: 12 }, (_, i) => `t${i}`);
    for (const id of ids) await add(id, 'globex');
    while (ids.some((id) => tasks.get(id)?.status !== 'done')) await new Promise((r) => setTimeout(r, 5));
    await w.stop();
    expect(w.running).toBe(false);
    expect(w.inflight).toBe(0);
    expect(tasks.usage('globex')).toBe(12);
  });
});
