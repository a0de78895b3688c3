import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Clock, manualClock, systemClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/log.ts';
import { openServiceDb } from '../../src/service/service-db.ts';
import { defaultWorkKnobs, type WorkKnobs } from '../../src/service/simulate.ts';
import { createSqliteQueue } from '../../src/service/sqlite-queue.ts';
import { createTaskStore } from '../../src/service/task-store.ts';
import { type AttemptOutcome, createWorkers } from '../../src/service/workers.ts';
import { tempDir } from '../helpers/rollgate.ts';

const policy = { leaseMs: 1_000, maxAttempts: 3, backoffBaseMs: 100, backoffMaxMs: 1_000 };

function setup(clock: Clock, knobs: Partial<WorkKnobs> = {}) {
  const { db } = openServiceDb(path.join(tempDir(), 'service.db'));
  const tasks = createTaskStore(db);
  const queue = createSqliteQueue({ db, clock, policy });
  const outcomes: AttemptOutcome[] = [];
  const work = { ...defaultWorkKnobs, workMs: 0, failureRate: 0, ...knobs };
  const worker = (opts: { onStart?: () => void; pollMs?: number } = {}) =>
    createWorkers({
      queue,
      tasks,
      clock,
      log: silentLogger,
      knobs: () => work,
      options: { concurrency: 2, pollMs: opts.pollMs ?? 5 },
      onAttempt: (o) => outcomes.push(o),
      ...(opts.onStart ? { onStart: opts.onStart } : {}),
    });
  const add = async (id: string, tenantId = 'acme') => {
    tasks.insert({
      id,
      tenantId,
      userId: `user-${id}`,
      type: 'self-improvement',
      input: { n: id },
      mode: 'queued',
      status: 'queued',
      createdAt: clock(),
    });
    await queue.enqueue(id);
  };
  return { db, tasks, queue, outcomes, worker, add };
}

describe('queue workers', () => {
  it('runs a task delivered twice (its first lease expired) with the effect of once', async () => {
    const clock = manualClock();
    const { tasks, queue, outcomes, worker, add } = setup(clock);
    await add('t1');
    const second = worker();
    let interleaved: Promise<number> | undefined;
    // While the first worker runs, its lease runs out and a second worker takes the same task.
    const first = worker({
      onStart: () => {
        if (interleaved) return;
        clock.advance(policy.leaseMs);
        interleaved = second.drain();
      },
    });
    await first.drain();
    await interleaved;
    expect(outcomes.map((o) => [o.attempt, o.ok])).toEqual([
      [1, true],
      [2, true],
    ]);
    expect(tasks.get('t1')).toMatchObject({ status: 'done', attempts: 1 });
    expect(tasks.usage('acme')).toBe(1);
    expect(await queue.stats()).toMatchObject({ done: 1, leased: 0, ready: 0 });
  });

  it('acknowledges a redelivered task that is already done without running it again', async () => {
    const clock = manualClock();
    const { tasks, queue, worker, add } = setup(clock);
    await add('t1');
    await queue.claim(1);
    tasks.complete('t1', { by: 'a worker that died before its ack' }, 1, clock());
    clock.advance(policy.leaseMs);
    let started = 0;
    await worker({ onStart: () => started++ }).drain();
    expect(started).toBe(0);
    expect(tasks.usage('acme')).toBe(1);
    expect(await queue.stats()).toMatchObject({ done: 1, leased: 0 });
  });

  it('retries failing attempts with backoff and dead-letters the task after the last one', async () => {
    const clock = manualClock();
    const { tasks, queue, outcomes, worker, add } = setup(clock, { queueDefectRate: 1 });
    await add('t1');
    const w = worker();
    for (let i = 0; i < policy.maxAttempts; i++) {
      await w.drain();
      clock.advance(policy.backoffMaxMs);
    }
    expect(outcomes.map((o) => [o.attempt, o.ok, o.deadLettered])).toEqual([
      [1, false, false],
      [2, false, false],
      [3, false, true],
    ]);
    expect(tasks.get('t1')).toMatchObject({ status: 'dead', attempts: 3 });
    expect(tasks.get('t1')?.error).toMatch(/simulated queued failure on attempt 3/);
    expect(tasks.usage('acme')).toBe(0);
    expect(await queue.stats()).toMatchObject({ dead: 1, ready: 0, leased: 0 });
  });

  it('processes a backlog in the background and finishes what is in flight when stopped', async () => {
    const { tasks, worker, add } = setup(systemClock, { workMs: 2 });
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
