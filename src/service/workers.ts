// Queue workers: claim leases, run the task, write its outcome idempotently, then acknowledge.
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import { planWork, type WorkKnobs } from './simulate.ts';
import type { Lease, TaskQueue } from './task-queue.ts';
import type { Task, TaskStore } from './task-store.ts';

/** One delivery's outcome, for the health signals: processing time is queue wait plus run, from creation. */
export interface AttemptOutcome {
  task: Task;
  attempt: number;
  ok: boolean;
  deadLettered: boolean;
  processingMs: number;
}

export interface WorkerOptions {
  concurrency: number;
  /**
   * How long idle workers wait before asking the queue again. Enqueues in this process wake them at once
   * (`wake`), so the poll only finds retries whose backoff ran out and tasks other processes enqueued.
   */
  pollMs: number;
}

export const defaultWorkerOptions: WorkerOptions = { concurrency: 4, pollMs: 200 };

export const sleep = (ms: number) =>
  new Promise<void>((resolve) => (ms > 0 ? setTimeout(resolve, ms) : setImmediate(resolve)));

export function createWorkers(deps: {
  queue: TaskQueue;
  tasks: TaskStore;
  knobs: () => WorkKnobs;
  clock: Clock;
  log: Logger;
  options?: Partial<WorkerOptions>;
  onAttempt?: (outcome: AttemptOutcome) => void;
  /** Called when an attempt starts running (after the idempotency checks); the crash test listens here. */
  onStart?: (lease: Lease) => void;
}) {
  const { queue, tasks, clock, log } = deps;
  const options = { ...defaultWorkerOptions, ...deps.options };
  const inflight = new Set<Promise<void>>();
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let polling = false;

  const report = (task: Task, attempt: number, ok: boolean, deadLettered: boolean) =>
    deps.onAttempt?.({
      task,
      attempt,
      ok,
      deadLettered,
      processingMs: Math.max(0, clock() - task.createdAt),
    });

  async function deadLetter(lease: Lease, task: Task, error: string) {
    tasks.finishFailed(task.id, 'dead', error, lease.attempt, clock());
    await queue.fail(lease, error);
  }

  async function handle(lease: Lease) {
    const stored = tasks.get(lease.taskId);
    // The region it came from travels with it: its work and its reported outcome are that region's.
    const task = stored && { ...stored, region: tasks.regionOf(stored.id) };
    // A task this database does not know was enqueued by a process with another database on a shared queue:
    // failing it (it ends as a dead letter) shows the misconfiguration; acknowledging it would lose the task.
    if (!task) return void (await queue.fail(lease, 'task not in this service database'));
    // A redelivery of a task an earlier attempt finished: acknowledge without running it again.
    if (task.status === 'done') return void (await queue.complete(lease));
    if (task.status === 'dead' || task.status === 'failed') {
      await queue.fail(lease, task.error ?? 'task already failed');
      return;
    }
    // Delivered more often than allowed because earlier holders died mid-run: a poison task, not run again.
    if (lease.attempt > lease.maxAttempts) {
      await deadLetter(lease, task, lease.lastError ?? 'lease expired on every attempt');
      return report(task, lease.attempt, false, true);
    }
    deps.onStart?.(lease);
    const plan = planWork(deps.knobs(), task, lease.attempt, 'queued');
    await sleep(plan.durationMs);
    if (plan.error === null) {
      // The conditional write is what makes a second delivery harmless; the ack only tidies the queue.
      tasks.complete(task.id, plan.result, lease.attempt, clock());
      await queue.complete(lease);
      return report(task, lease.attempt, true, false);
    }
    if (lease.attempt >= lease.maxAttempts) {
      await deadLetter(lease, task, plan.error);
      return report(task, lease.attempt, false, true);
    }
    tasks.noteFailedAttempt(task.id, plan.error, lease.attempt);
    await queue.fail(lease, plan.error);
    report(task, lease.attempt, false, false);
  }

  function schedule(ms: number) {
    if (!running) return;
    clearTimeout(timer);
    timer = setTimeout(() => void poll(), ms);
  }

  async function poll() {
    if (!running || polling) return;
    polling = true;
    let claimed = 0;
    let free = 0;
    try {
      free = options.concurrency - inflight.size;
      const leases = free > 0 ? await queue.claim(free) : [];
      claimed = leases.length;
      for (const lease of leases) {
        const p: Promise<void> = handle(lease)
          .catch((err) => log.error('task attempt failed unexpectedly; its lease will expire', { err }))
          .finally(() => {
            inflight.delete(p);
            schedule(0);
          });
        inflight.add(p);
      }
    } catch (err) {
      log.error('claiming tasks failed', { err });
    } finally {
      polling = false;
    }
    // A full claim suggests more are waiting; otherwise wait for the next poll or a free slot.
    schedule(claimed > 0 && claimed === free ? 0 : options.pollMs);
  }

  return {
    /** Work was just enqueued in this process: claim it now rather than at the next poll. */
    wake() {
      if (inflight.size < options.concurrency) schedule(0);
    },
    start() {
      if (running) return;
      running = true;
      schedule(0);
    },
    /** Stops claiming and waits for the attempts in flight; anything unfinished is redelivered after its lease. */
    async stop() {
      running = false;
      clearTimeout(timer);
      await Promise.allSettled([...inflight]);
    },
    /** Claims and runs until nothing is claimable right now (tests and scripts). */
    async drain(): Promise<number> {
      let handled = 0;
      for (;;) {
        const leases = await queue.claim(options.concurrency);
        if (!leases.length) return handled;
        await Promise.all(leases.map(handle));
        handled += leases.length;
      }
    },
    get inflight() {
      return inflight.size;
    },
    get running() {
      return running;
    },
  };
}
