// Reads what assess needs for one flag from the signal store and assesses it: the scheduler, the health API and replay share this.
import type { Plan } from '../plans/schema.ts';
import { segmentFieldOf } from '../plans/signal-source.ts';
import { type AssessContext, assess, seriesStart } from './assess.ts';
import type { FlagSeries } from './series.ts';
import type { SignalStore } from './signal-store.ts';
import type { Verdict } from './verdict.ts';

/** The parts of a flag assess looks at; the controller's Flag has this shape. */
export interface AssessedFlag {
  plan: Plan;
  state: {
    phase: string;
    stageStartedAt: number | null;
    startedAt: number | null;
    watchSince: number | null;
    /** The state's version, when known: a cached verdict is reused only for the state it was computed for. */
    version?: number;
  };
  percent: number;
}

export interface FlagHealthOptions {
  staleAfterMs?: number;
  historyMs?: number;
}

export type FlagHealth = ReturnType<typeof createFlagHealth>;

/** Tests fold from the rollout start, or from the moment a person last resumed it (or promoted past a pause). */
export const rolloutStartOf = (state: AssessedFlag['state']): number | null =>
  state.watchSince ?? state.startedAt;

export function createFlagHealth(deps: { store: SignalStore } & FlagHealthOptions) {
  const { store } = deps;
  const contextOf = (flag: AssessedFlag, now: number): AssessContext => {
    const ctx: AssessContext = {
      now,
      stageStartedAt: flag.state.stageStartedAt,
      rolloutStartedAt: rolloutStartOf(flag.state),
      percent: flag.percent,
      phase: flag.state.phase,
    };
    if (deps.staleAfterMs !== undefined) ctx.staleAfterMs = deps.staleAfterMs;
    if (deps.historyMs !== undefined) ctx.historyMs = deps.historyMs;
    return ctx;
  };
  /** The verdict now and the series it was computed from. */
  const check = (flag: AssessedFlag, now: number): { verdict: Verdict; series: FlagSeries } => {
    const ctx = contextOf(flag, now);
    const since = seriesStart(ctx);
    const series = store.series(flag.plan.name, since);
    // Segment rows are read only for a plan that splits some guardrail by a context field.
    if (segmentFieldOf(flag.plan) !== undefined) series.segments = store.segmentSeries(flag.plan.name, since);
    return { verdict: assess(flag.plan, series, ctx), series };
  };
  /** The scheduler's `assess` dependency (safe to pass detached). */
  const assessFlag = (flag: AssessedFlag, now: number): Verdict => check(flag, now).verdict;
  return { check, assess: assessFlag };
}
