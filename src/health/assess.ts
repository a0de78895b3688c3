// Turns a plan's guardrails and a flag's stored signals into a verdict with evidence: pure, time comes in.
import type { Guardrail, Plan } from '../plans/schema.ts';
import {
  type GuardrailFold,
  guardrailName,
  guardrailWeight,
  judgeGuardrail,
  startGuardrail,
  stepGuardrail,
} from './assess-guardrail.ts';
import { splitAlpha } from './detectors/combine.ts';
import { productSrmOptions, sampleRatioTest } from './detectors/srm.ts';
import {
  addTraffic,
  emptyTraffic,
  type Interval,
  type TrafficSums,
  toIntervals,
  trafficUnits,
} from './intervals.ts';
import { budgetOf, foldSegments, judgeSegments, type SegmentFolds, type SegmentSetup } from './segments.ts';
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
};

/** Where reading the series must start for `assess` to see everything it uses. */
export function seriesStart(ctx: Pick<AssessContext, 'now' | 'rolloutStartedAt' | 'historyMs'>): number {
  const historyMs = ctx.historyMs ?? assessDefaults.historyMs;
  return (ctx.rolloutStartedAt ?? ctx.now) - historyMs;
}

/** Where the fold window starts and what history is, for a flag's state; `since` stands in for a missing start. */
export function foldBounds(
  plan: Plan,
  ctx: Pick<AssessContext, 'rolloutStartedAt' | 'stageStartedAt' | 'phase'>,
  since: number,
) {
  const rolloutStart = ctx.rolloutStartedAt ?? since;
  const stageStart = ctx.stageStartedAt ?? rolloutStart;
  const drift = ctx.phase === 'completed' && (plan.rollout?.holdback ?? 0) > 0;
  const from = Math.floor((drift ? stageStart : rolloutStart) / minuteMs) * minuteMs;
  return { rolloutStart, stageStart, drift, from };
}

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
  const { rolloutStart, stageStart, drift, from } = foldBounds(plan, ctx, since);
  return {
    window: intervals.filter((i) => i.start >= from),
    history: intervals.filter((i) => i.start + i.width <= rolloutStart),
    drift,
    stageStart,
  };
}

/** A flag's assessment as running state: every guardrail's fold, the stage's traffic, the last signal seen. */
export interface FlagFold {
  /** What the state was folded under (plan checksum, window start, rollout start, mode): another key, another fold. */
  key: string;
  /** Every interval ending at or before this is folded in. */
  foldedUntil: number;
  streams: Array<{ key: string; alpha: number; fold: GuardrailFold }>;
  /** Window intervals folded so far. */
  windowIntervals: number;
  /** Start of the newest interval with any signal. */
  lastSignal: number;
  /** Units of the current stage's whole minutes (from `from`), in requests and in exposures. */
  stage: { from: number; traffic: TrafficSums };
  /** A plan with a `by:` guardrail: each tested segment's stream, folded from that segment's own intervals. */
  segments?: SegmentFolds;
}

/** A guardrail's stream key: opaque to the fold, unique per derived guardrail. */
export const streamKey = (g: Guardrail, index: number): string => `${index}:${guardrailName(g)}`;

const ceilMinute = (t: number) => Math.ceil(t / minuteMs) * minuteMs;

/**
 * The fold before any interval: tests set up from control's history among `known` (every interval read, up to
 * now). `scratch`: the caller folds exactly `known` next, so a test that needs all of it up front can start.
 */
export function startFold(
  plan: Plan,
  ctx: AssessContext,
  since: number,
  known: readonly Interval[],
  scratch: boolean,
  key = '',
): FlagFold {
  const { window, history, drift, stageStart } = foldWindow(plan, known, ctx, since);
  const guardrails = plan.rollout?.guardrails ?? [];
  const alphas = alphasOf(plan);
  const setup = { history, drift };
  return {
    key,
    foldedUntil: Number.NEGATIVE_INFINITY,
    streams: guardrails.map((g, index) => {
      const budget = budgetOf(g, alphas[index] ?? 0.01);
      return {
        key: streamKey(g, index),
        alpha: budget.alpha,
        fold: startGuardrail(g, { ...setup, ...budget }, { window, scratch }),
      };
    }),
    windowIntervals: 0,
    lastSignal: Number.NEGATIVE_INFINITY,
    stage: { from: ceilMinute(stageStart), traffic: emptyTraffic() },
  };
}

/** True when some guardrail can only be folded from scratch. */
export const unfoldable = (fold: FlagFold): boolean => fold.streams.some((s) => s.fold.kind === 'unfoldable');

/**
 * Folds `intervals` (in time order, all after what is folded already) into a new fold; the old one is left
 * as it was. Null when an interval changes what a test fixed up front: fold from scratch then.
 */
export function advanceFold(
  plan: Plan,
  fold: FlagFold,
  intervals: readonly Interval[],
  ctx: Pick<AssessContext, 'rolloutStartedAt' | 'stageStartedAt' | 'phase'>,
  since: number,
): FlagFold | null {
  const { from } = foldBounds(plan, ctx, since);
  const guardrails = plan.rollout?.guardrails ?? [];
  const streams = fold.streams.map((s) => ({ ...s }));
  let { windowIntervals, lastSignal } = fold;
  const traffic = { ...fold.stage.traffic };
  for (const i of intervals) {
    if (hasSignal(i)) lastSignal = Math.max(lastSignal, i.start);
    // A minute that straddles the stage start mixes two splits: the split and the exposure count whole minutes after it.
    if (i.start >= fold.stage.from) addTraffic(traffic, i);
    if (i.start < from) continue;
    windowIntervals++;
    for (let k = 0; k < streams.length; k++) {
      const s = streams[k] as FlagFold['streams'][number];
      const next = stepGuardrail(guardrails[k] as Guardrail, s.fold, i);
      if (!next) return null;
      s.fold = next;
    }
  }
  return { ...fold, streams, windowIntervals, lastSignal, stage: { from: fold.stage.from, traffic } };
}

/** The verdict a fold stands for at `ctx.now`; `late` counts signals that came for minutes already folded. */
export function judgeFold(plan: Plan, fold: FlagFold, ctx: AssessContext, late = 0): Verdict {
  const guardrails = plan.rollout?.guardrails ?? [];
  const { drift } = foldBounds(plan, ctx, 0);
  const verdicts = fold.streams.map((s, index) =>
    judgeGuardrail(
      guardrails[index] as Guardrail,
      index,
      s.fold,
      { alpha: s.alpha, drift },
      fold.windowIntervals,
    ),
  );
  // A `by:` guardrail's test also runs per segment value, on that value's signals (src/health/segments.ts).
  const all = fold.segments
    ? [...verdicts, ...judgeSegments(plan, fold.segments, drift, verdicts)]
    : verdicts;
  const traffic = trafficUnits(fold.stage.traffic);
  return {
    at: ctx.now,
    status: worstStatus(all.filter((v) => !v.advisory).map((v) => v.status)),
    guardrails: all,
    srm: srm(plan, traffic, ctx.percent),
    exposure: {
      treatmentRequests: traffic.treatment,
      controlRequests: traffic.control,
      since: ctx.stageStartedAt,
    },
    stale: ctx.now - fold.lastSignal > (ctx.staleAfterMs ?? assessDefaults.staleAfterMs),
    late,
  };
}

/** Bonferroni by kind (guardrailWeight): the family of guardrails keeps the plan's α. */
function alphasOf(plan: Plan): number[] {
  const guardrails = plan.rollout?.guardrails ?? [];
  return guardrails.length ? splitAlpha(plan.rollout?.alpha ?? 0.01, guardrails.map(guardrailWeight)) : [];
}

/** How a flag's segment streams start and fold: its α shares, the window it folds, up to now. */
export function segmentSetup(
  plan: Plan,
  ctx: Pick<AssessContext, 'now' | 'rolloutStartedAt' | 'stageStartedAt' | 'phase'>,
  since: number,
): SegmentSetup {
  return {
    now: ctx.now,
    alphas: alphasOf(plan),
    fold: (segment) => foldWindow(plan, segment, ctx, since),
    from: foldBounds(plan, ctx, since).from,
  };
}

/** The verdict from scratch: every interval of the series folded from the first. */
export function assess(plan: Plan, series: FlagSeries, ctx: AssessContext): Verdict {
  const intervals = toIntervals(series).filter((i) => i.start <= ctx.now);
  const start = startFold(plan, ctx, series.since, intervals, true);
  const fold = advanceFold(plan, start, intervals, ctx, series.since) as FlagFold;
  if (series.segments)
    fold.segments = foldSegments(plan, series.segments, segmentSetup(plan, ctx, series.since));
  return judgeFold(plan, fold, ctx);
}

function hasSignal(i: Interval): boolean {
  return [i.treatment, i.control].some(
    (a) => a.errors.count + a.exposures.count + a.latency.count + a.conversions.count + a.revenue.count > 0,
  );
}

function srm(plan: Plan, traffic: ReturnType<typeof trafficUnits>, percent: number): SrmVerdict {
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
