// Runs reconcile for every due rollout on an interval: one failing flag never stops the others.
import type { Clock } from '../clock.ts';
import type { Verdict } from '../health/verdict.ts';
import type { Logger } from '../log.ts';
import type { Controller, Flag } from './controller.ts';
import { reconcile } from './reconcile.ts';

export type AssessFlag = (flag: Flag, now: number) => Verdict;
/** Verdicts for many flags at once, off the serving thread (the assessment worker); per flag a verdict or an error. */
export type AssessFlags = (flags: readonly Flag[], now: number) => Promise<Map<string, Verdict | Error>>;

/** The verdict a flag's last assessment produced, with the state version it was computed for. */
export interface LatestVerdict {
  verdict: Verdict;
  version: number;
}

export interface TickReport {
  at: number;
  flags: Array<{ flag: string; action: string; reason: string; changed: boolean; error?: string }>;
}

export type Scheduler = ReturnType<typeof createScheduler>;

export function createScheduler(deps: {
  controller: Controller;
  assess: AssessFlag;
  /** When given, every tick assesses through it (a worker thread), never on the thread that serves SDKs. */
  assessAll?: AssessFlags;
  clock: Clock;
  log: Logger;
  intervalMs: number;
  /** How long each pass took, for /metrics. */
  onTick?: (ms: number) => void;
  /** Whether this replica leads; the others tick nothing (one scheduler per database). Always, by default. */
  leads?: () => boolean;
}) {
  const { controller, assess, clock, log } = deps;
  const latest = new Map<string, LatestVerdict>();
  let running: Promise<TickReport> | null = null;
  let timer: NodeJS.Timeout | undefined;
  let stopped = true;

  const isDue = (f: Flag) =>
    f.plan.rollout && f.state.enabled && (f.state.phase === 'progressing' || f.state.phase === 'completed');

  function tickFlag(flag: Flag, now: number, given?: Verdict): TickReport['flags'][number] {
    const verdict = given ?? assess(flag, now);
    latest.set(flag.plan.name, { verdict, version: flag.state.version });
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

  async function runTick(): Promise<TickReport> {
    const now = clock();
    const report: TickReport = { at: now, flags: [] };
    if (deps.leads && !deps.leads()) return report;
    const due = controller.listFlags().filter(isDue);
    let verdicts: Map<string, Verdict | Error> | undefined;
    if (deps.assessAll && due.length) {
      try {
        verdicts = await deps.assessAll(due, now);
      } catch (err) {
        // Without the thread this tick decides nothing: holding is safe, blocking the serving thread is not.
        log.error('assessment thread unavailable; this tick decides nothing', { err });
        return {
          at: now,
          flags: due.map((f) => ({
            flag: f.plan.name,
            action: 'none',
            reason: 'error',
            changed: false,
            error: String(err),
          })),
        };
      }
    }
    for (const flag of due) {
      try {
        const given = verdicts?.get(flag.plan.name);
        if (given instanceof Error) throw given;
        report.flags.push(tickFlag(flag, now, given));
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
    running = (async () => {
      const started = performance.now();
      try {
        return await runTick();
      } finally {
        deps.onTick?.(performance.now() - started);
      }
    })().finally(() => {
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
    /** The verdict the flag's last tick produced, if it was ticked since start. */
    latest: (flag: string): LatestVerdict | undefined => latest.get(flag),
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
