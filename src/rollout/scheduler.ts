// Runs reconcile for every due rollout on an interval: one failing flag never stops the others.
import type { Clock } from '../clock.ts';
import type { Verdict } from '../health/verdict.ts';
import type { Logger } from '../log.ts';
import type { Controller, Flag } from './controller.ts';
import { reconcile } from './reconcile.ts';

export type AssessFlag = (flag: Flag, now: number) => Verdict;

export interface TickReport {
  at: number;
  flags: Array<{ flag: string; action: string; reason: string; changed: boolean; error?: string }>;
}

export type Scheduler = ReturnType<typeof createScheduler>;

export function createScheduler(deps: {
  controller: Controller;
  assess: AssessFlag;
  clock: Clock;
  log: Logger;
  intervalMs: number;
  /** How long each pass took, for /metrics. */
  onTick?: (ms: number) => void;
}) {
  const { controller, assess, clock, log } = deps;
  let running: Promise<TickReport> | null = null;
  let timer: NodeJS.Timeout | undefined;
  let stopped = true;

  const isDue = (f: Flag) =>
    f.plan.rollout && f.state.enabled && (f.state.phase === 'progressing' || f.state.phase === 'completed');

  function tickFlag(flag: Flag, now: number): TickReport['flags'][number] {
    const verdict = assess(flag, now);
    let outcome = { action: 'none', reason: 'state changed meanwhile; next tick decides', changed: false };
    controller.transition(flag.plan.name, 'controller', (current) => {
      // The verdict was computed for the state we read; if someone acted since, leave it to the next tick.
      if (current.state.version !== flag.state.version) return null;
      const result = reconcile(current.plan, current.state, verdict, now);
      outcome = { action: result.decision.action, reason: result.decision.reason, changed: result.changed };
      if (!result.changed || !result.eventType) return null;
      return {
        next: result.next,
        event: {
          type: result.eventType,
          reason: result.decision.reason,
          data: { action: result.decision.action, ...result.decision.evidence },
        },
      };
    });
    if (outcome.changed) log.info('rollout decision', { flag: flag.plan.name, ...outcome });
    return { flag: flag.plan.name, ...outcome };
  }

  function runTick(): TickReport {
    const now = clock();
    const report: TickReport = { at: now, flags: [] };
    for (const flag of controller.listFlags()) {
      if (!isDue(flag)) continue;
      try {
        report.flags.push(tickFlag(flag, now));
      } catch (err) {
        log.error('reconcile failed for one flag; the others go on', { flag: flag.plan.name, err });
        report.flags.push({
          flag: flag.plan.name,
          action: 'none',
          reason: 'error',
          changed: false,
          error: String(err),
        });
      }
    }
    return report;
  }

  /** One pass over all due rollouts; a tick already in flight is joined, never run twice at once. */
  function tick(): Promise<TickReport> {
    if (running) return running;
    running = Promise.resolve()
      .then(() => {
        const started = performance.now();
        const report = runTick();
        deps.onTick?.(performance.now() - started);
        return report;
      })
      .finally(() => {
        running = null;
      });
    return running;
  }

  function schedule() {
    if (stopped) return;
    timer = setTimeout(() => {
      void tick().finally(schedule);
    }, deps.intervalMs);
  }

  return {
    tick,
    start() {
      if (!stopped) return;
      stopped = false;
      schedule();
    },
    /** Stops the loop and waits for the tick in flight. */
    async stop() {
      stopped = true;
      clearTimeout(timer);
      if (running) await running;
    },
  };
}
