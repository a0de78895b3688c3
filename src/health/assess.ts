// Turns a plan's guardrails and a flag's stored signals into a verdict with evidence: pure, time comes in.
import type { Plan } from '../plans/schema.ts';
import { assessGuardrail, guardrailWeight } from './assess-guardrail.ts';
import { splitAlpha } from './detectors/combine.ts';
import { productSrmOptions, sampleRatioTest } from './detectors/srm.ts';
import { type Interval, toIntervals, trafficOf } from './intervals.ts';
import { assessSegments, budgetOf } from './segments.ts';
import { type FlagSeries, minuteMs } from './series.ts';
import { type SrmVerdict, type Verdict, worstStatus } from './verdict.ts';

export interface AssessContext {
  now: number;
  stageStartedAt: number | null;
  rolloutStartedAt: number | null;
  /** Percent of users served the change now (treatment share of the split). */
  percent: number;
  /** The rollout phase; 'completed' switches count guardrails to drift against the holdback. */
  phase: string;
  /** No signal for this long makes the verdict stale (hold, never promote). */
  staleAfterMs?: number;
  /** How far before the rollout start control's history is read for thresholds and baselines. */
  historyMs?: number;
}

export const assessDefaults = {
  staleAfterMs: 5 * minuteMs,
  historyMs: 24 * 60 * minuteMs,
  /**
   * ARL0 = 14 days of one-minute looks (h = ln 20160). Lorden's bound alone would ask for 14 days / 5 %, but the
   * detection benchmark measured 0.25 % of healthy fortnights with any false alarm at this h, and the strict h
   * misses the 36-hour target for a 1 %/hour drift (39.5 h against 34.8 h median).
   */
  driftArl0Intervals: 14 * 1440,
};

/** Where reading the series must start for `assess` to see everything it uses. */
export function seriesStart(ctx: Pick<AssessContext, 'now' | 'rolloutStartedAt' | 'historyMs'>): number {
  const historyMs = ctx.historyMs ?? assessDefaults.historyMs;
  return (ctx.rolloutStartedAt ?? ctx.now) - historyMs;
}

const ceilMinute = (t: number) => Math.ceil(t / minuteMs) * minuteMs;

/**
 * What the guardrail tests fold: the intervals from the rollout start (or the last resume), or from completion
 * when a holdback is watched for drift, and control's history before the start. One definition for assess and
 * for the dashboard's charts of the same statistics.
 */
export function foldWindow(
  plan: Plan,
  intervals: readonly Interval[],
  ctx: Pick<AssessContext, 'rolloutStartedAt' | 'stageStartedAt' | 'phase'>,
  since: number,
) {
  const rolloutStart = ctx.rolloutStartedAt ?? since;
  const stageStart = ctx.stageStartedAt ?? rolloutStart;
  const drift = ctx.phase === 'completed' && (plan.rollout?.holdback ?? 0) > 0;
  const from = Math.floor((drift ? stageStart : rolloutStart) / minuteMs) * minuteMs;
  return {
    window: intervals.filter((i) => i.start >= from),
    history: intervals.filter((i) => i.start + i.width <= rolloutStart),
    drift,
    stageStart,
  };
}

export function assess(plan: Plan, series: FlagSeries, ctx: AssessContext): Verdict {
  const intervals = toIntervals(series).filter((i) => i.start <= ctx.now);
  const { window, history, drift, stageStart } = foldWindow(plan, intervals, ctx, series.since);

  const rollout = plan.rollout;
  const guardrails = rollout?.guardrails ?? [];
  // Bonferroni by kind (guardrailWeight): the family of guardrails keeps the plan's α.
  const alphas = guardrails.length ? splitAlpha(rollout?.alpha ?? 0.01, guardrails.map(guardrailWeight)) : [];
  const whole = guardrails.map((g, index) =>
    assessGuardrail(g, index, {
      ...budgetOf(g, alphas[index] ?? 0.01, assessDefaults.driftArl0Intervals),
      intervals: window,
      history,
      drift,
    }),
  );
  // A `by:` guardrail's test also runs per segment value, on that value's signals (src/health/segments.ts).
  const verdicts = [
    ...whole,
    ...assessSegments(plan, series, {
      now: ctx.now,
      alphas,
      driftArl0Intervals: assessDefaults.driftArl0Intervals,
      fold: (segment) => foldWindow(plan, segment, ctx, series.since),
      whole,
    }),
  ];

  // A minute that straddles the stage start mixes two splits: the split and the exposure count whole minutes after it.
  const stage = intervals.filter((i) => i.start >= ceilMinute(stageStart));
  const traffic = trafficOf(stage);
  const lastSignal = intervals.reduce(
    (last, i) => (hasSignal(i) ? Math.max(last, i.start) : last),
    -Infinity,
  );
  return {
    at: ctx.now,
    status: worstStatus(verdicts.filter((v) => !v.advisory).map((v) => v.status)),
    guardrails: verdicts,
    srm: srm(plan, traffic, ctx.percent),
    exposure: {
      treatmentRequests: traffic.treatment,
      controlRequests: traffic.control,
      since: ctx.stageStartedAt,
    },
    stale: ctx.now - lastSignal > (ctx.staleAfterMs ?? assessDefaults.staleAfterMs),
  };
}

function hasSignal(i: Interval): boolean {
  return [i.treatment, i.control].some(
    (a) => a.errors.count + a.exposures.count + a.latency.count + a.conversions.count + a.revenue.count > 0,
  );
}

function srm(plan: Plan, traffic: ReturnType<typeof trafficOf>, percent: number): SrmVerdict {
  // Constraints send ineligible users to control, so the configured percent no longer predicts the split.
  if (plan.constraints.length > 0) {
    return {
      status: 'insufficient-data',
      summary: 'split: not checked, constraints make the eligible population unknown',
      evidence: { treatment: traffic.treatment, control: traffic.control, unit: traffic.unit },
    };
  }
  const verdict = sampleRatioTest(
    { treatment: traffic.treatment, control: traffic.control },
    percent / 100,
    productSrmOptions,
  );
  return {
    ...verdict,
    summary: `${verdict.summary} (${traffic.unit})`,
    evidence: { ...verdict.evidence, unit: traffic.unit },
  };
}
