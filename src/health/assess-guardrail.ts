// One plan guardrail judged over stored intervals: picks the detector for its kind, keeps its running state as a fold over intervals, returns the verdict with evidence.
import type { Guardrail } from '../plans/schema.ts';
import {
  type CountTestState,
  countTestVerdict,
  initCountTest,
  updateCountTest,
} from './detectors/count-test.ts';
import type { DetectorVerdict } from './detectors/detector-verdict.ts';
import { type DriftState, driftVerdict, initDrift, updateDrift } from './detectors/drift.ts';
import {
  initMeanTest,
  type MeanStats,
  type MeanTestState,
  meanTestVerdict,
  updateMeanTest,
} from './detectors/mean-test.ts';
import { initSlo, type SloState, sloVerdict, updateSlo } from './detectors/slo-bound.ts';
import type { CountInterval } from './detectors/split-likelihood.ts';
import { tailThreshold } from './detectors/tail-exceedance.ts';
import {
  type Aggregate,
  type ArmStats,
  bucketHolding,
  countAbove,
  exceedancesOf,
  histogramTotal,
  type Interval,
  knownBounds,
  mergedHistogram,
  sortedHistogram,
} from './intervals.ts';
import type { GuardrailVerdict } from './verdict.ts';

/**
 * Smallest relative change worth catching, when the plan does not say: errors tune the exposure a quiet test
 * needs (a 2× rise); the others set the mSPRT mixing scale τ. Same values as the detection benchmark's plans.
 */
export const defaultRelative = { errors: 1, latency: 0.1, conversions: 0.05, revenue: 0.05 } as const;

/**
 * Shares of the rollout's α by guardrail kind, as benchmarked: the error test's detection time grows with
 * ln(1/α), while the latency tests decide in minutes and the SLO bound acts only far above baseline.
 */
export function guardrailWeight(g: Guardrail): number {
  if (g.max !== undefined || g.min !== undefined) return 0.025;
  if (g.metric === 'errors') return 0.9;
  if (g.metric === 'latency') return g.quantile !== undefined ? 0.025 : 0.05;
  return 0.5;
}

/** The form of test 1 for error counts: the change-point mixture, the rollout start weighted most (count-test.ts). */
export const errorCountForm = 'change-point' as const;

export function guardrailName(g: Guardrail): string {
  const tail = g.quantile !== undefined ? ` p${Math.round(g.quantile * 1000) / 10}` : '';
  if (g.max !== undefined) return `${g.metric}${tail} <= ${g.max}${g.metric === 'latency' ? 'ms' : ''}`;
  if (g.min !== undefined) return `${g.metric}${tail} >= ${g.min}`;
  return g.metric === 'latency' && tail ? `latency${tail}` : `${g.metric} (relative)`;
}

type Judged = DetectorVerdict<object> & { extra?: Record<string, unknown> };

/** What a guardrail's test is fixed from before it folds: its α share, control's history, the mode. */
export interface GuardrailSetup {
  /** This guardrail's share of the rollout's false-rollback budget. */
  alpha: number;
  /** Control's intervals before the rollout started: tail thresholds and baselines are fixed from these. */
  history: readonly Interval[];
  /** After 100 % with a holdback: count guardrails run the drift test against the holdback instead. */
  drift: boolean;
}

/** What a test keeps of its setup once history has fixed what it needs. */
type FoldSetup = Omit<GuardrailSetup, 'history'>;

export interface GuardrailWindow extends GuardrailSetup {
  /** The intervals the test folds: from the rollout start, or from completion when watching for drift. */
  intervals: readonly Interval[];
}

/**
 * A guardrail's running state between ticks: the detector's own fold state, plus what was fixed before the
 * first interval was folded (a tail threshold, a τ baseline, histogram bounds). Plain data, so it can be kept
 * and stored. 'unfoldable' marks a test whose past depends on its future: a mean test scaled by control so
 * far re-reads every interval with each new τ, so it can only be folded from scratch.
 */
export type GuardrailFold =
  | { kind: 'fixed'; judged: Judged }
  | { kind: 'slo'; state: SloState }
  | { kind: 'count'; test: CountTestState; extra: Record<string, unknown>; tailMs?: number }
  | { kind: 'drift'; test: DriftState; extra: Record<string, unknown>; tailMs?: number }
  | {
      kind: 'mean';
      test: MeanTestState;
      extra?: Record<string, unknown>;
      /** Revenue arrived without squares: its variance is unknown. */
      missingSquares: boolean;
      /** No control baseline to scale τ by. */
      noBaseline: boolean;
    }
  | {
      kind: 'limit';
      certain: SloState;
      possible: SloState;
      interpolated: number;
      bounds: number[];
      max: number;
    }
  | {
      kind: 'seek';
      setup: FoldSetup;
      quantile: number;
      needed: number;
      history: number;
      seen: number;
      merged: Array<[number, number]>;
      from: number | null;
      to: number;
    }
  | { kind: 'unfoldable' };

const problem = (summary: string): GuardrailFold => ({
  kind: 'fixed',
  judged: { status: 'inconclusive', summary, evidence: {} },
});

/** One guardrail judged over the whole window at once: the same fold as ticks run, from its first interval. */
export function assessGuardrail(g: Guardrail, index: number, w: GuardrailWindow): GuardrailVerdict {
  let fold = startGuardrail(g, w, { window: w.intervals, scratch: true });
  for (const i of w.intervals) fold = stepGuardrail(g, fold, i) ?? fold;
  return judgeGuardrail(g, index, fold, w, w.intervals.length);
}

/**
 * The state before any interval of the window is folded. `window` is every window interval known now (the
 * histogram bounds come from them); `scratch` says the caller folds exactly those, so a test that needs the
 * whole window up front (a τ from control so far) can start; otherwise it comes back 'unfoldable'.
 */
export function startGuardrail(
  g: Guardrail,
  w: GuardrailSetup,
  known: { window: readonly Interval[]; scratch: boolean },
): GuardrailFold {
  const limit = g.max ?? g.min;
  switch (g.metric) {
    case 'errors':
    case 'conversions':
      if (limit !== undefined)
        return { kind: 'slo', state: initSlo({ limit, worse: g.worse, alpha: w.alpha }) };
      return g.metric === 'errors' ? startCounts(g, w, {}) : startMean(g, w, known);
    case 'revenue':
      if (limit !== undefined)
        return problem('absolute limits apply to rates and latency quantiles, not to revenue; use relative');
      return startMean(g, w, known);
    case 'latency':
      return startLatency(g, w, known.window);
    default:
      return problem(`unknown metric "${g.metric}"`);
  }
}

/** Folds one window interval in; null when the interval changes what was fixed (a new histogram bound). */
export function stepGuardrail(g: Guardrail, fold: GuardrailFold, i: Interval): GuardrailFold | null {
  switch (fold.kind) {
    case 'fixed':
    case 'unfoldable':
      return fold;
    case 'slo':
      return { kind: 'slo', state: updateSlo(fold.state, sloUnits(g, i.treatment)) };
    case 'count':
      return { ...fold, test: updateCountTest(fold.test, countInterval(g, fold.tailMs, i)) };
    case 'drift':
      return { ...fold, test: updateDrift(fold.test, countInterval(g, fold.tailMs, i)) };
    case 'mean': {
      const missingSquares =
        fold.missingSquares ||
        (g.metric === 'revenue' && (i.treatment.revenue.sumsq === null || i.control.revenue.sumsq === null));
      const test = updateMeanTest(fold.test, {
        treatment: meanOf(g, i.treatment),
        control: meanOf(g, i.control),
      });
      return { ...fold, test, missingSquares };
    }
    case 'limit': {
      for (const side of [i.treatment, i.control])
        for (const le of side.histogram.keys()) if (!fold.bounds.includes(le)) return null;
      const units = histogramTotal(i.treatment);
      const x = exceedancesOf(i.treatment, fold.max, fold.bounds);
      return {
        ...fold,
        certain: updateSlo(fold.certain, { units, events: x.certain }),
        possible: updateSlo(fold.possible, { units, events: x.possible }),
        interpolated: fold.interpolated + x.interpolated,
      };
    }
    case 'seek':
      return seekStep(g, fold, i);
  }
}

export function judgeGuardrail(
  g: Guardrail,
  index: number,
  fold: GuardrailFold,
  w: Pick<GuardrailSetup, 'alpha' | 'drift'>,
  intervals: number,
): GuardrailVerdict {
  const j = judge(fold);
  const name = guardrailName(g) + (w.drift && j.extra?.drift ? ' (drift vs holdback)' : '');
  // "no control traffic for errors (relative): …": the missing arm is the reason, so it leads.
  const summary =
    j.missing === 'control' ? j.summary.replace(/^([^:]+):/, `$1 for ${name}:`) : `${name}: ${j.summary}`;
  return {
    index,
    name,
    status: j.status,
    summary,
    ...(j.missing ? { missing: j.missing } : {}),
    evidence: { ...j.evidence, ...j.extra, alpha: w.alpha, intervals },
  };
}

function judge(fold: GuardrailFold): Judged {
  switch (fold.kind) {
    case 'fixed':
      return fold.judged;
    case 'unfoldable':
      return { status: 'inconclusive', summary: 'not folded', evidence: {} };
    case 'slo':
      return sloVerdict(fold.state);
    case 'count':
      return { ...countTestVerdict(fold.test), extra: fold.extra };
    case 'drift':
      return { ...driftVerdict(fold.test), extra: { ...fold.extra, drift: true } };
    case 'mean':
      if (fold.missingSquares)
        return {
          status: 'inconclusive',
          summary:
            'revenue arrived without revenueSquares, so its variance is unknown; senders must include it',
          evidence: {},
        };
      if (fold.noBaseline)
        return {
          status: 'insufficient-data',
          summary: 'no control baseline yet to scale the test',
          evidence: fold.extra ?? {},
        };
      return fold.extra ? { ...meanTestVerdict(fold.test), extra: fold.extra } : meanTestVerdict(fold.test);
    case 'limit':
      return limitVerdict(fold);
    case 'seek':
      return {
        status: 'insufficient-data',
        missing: 'control',
        summary: `${fold.history + fold.seen === 0 ? 'no control traffic' : 'too little control traffic'}: fixing the p${fold.quantile * 100} threshold needs ${fold.needed} control latencies in finite buckets; have ${fold.history + fold.seen}`,
        evidence: {},
      };
  }
}

/** Bad events of a rate: the events when more is worse, the non-events when less is worse. */
function rateCounts(a: Aggregate, worse: Guardrail['worse']) {
  return { n: a.count, e: worse === 'higher' ? a.sum : Math.max(0, a.count - a.sum) };
}

/** One interval as test 1 sees it: error counts, or, for a latency tail, requests above the fixed threshold. */
function countInterval(g: Guardrail, tailMs: number | undefined, i: Interval): CountInterval {
  const of = (a: ArmStats) => {
    if (tailMs === undefined) return rateCounts(a.errors, g.worse);
    const n = histogramTotal(a);
    // Less is worse: the bad events are the fast ones, below the threshold.
    const above = countAbove(a, tailMs);
    return { n, e: g.worse === 'higher' ? above : n - above };
  };
  const t = of(i.treatment);
  const c = of(i.control);
  return { nT: t.n, nC: c.n, eT: t.e, eC: c.e };
}

function sloUnits(g: Guardrail, a: ArmStats) {
  return g.metric === 'conversions'
    ? { units: a.conversions.count, events: Math.min(a.conversions.sum, a.conversions.count) }
    : { units: a.errors.count, events: a.errors.sum };
}

function meanOf(g: Guardrail, a: ArmStats): MeanStats {
  if (g.metric === 'latency') {
    const l = a['log-latency'];
    return { count: l.count, sum: l.sum, sumSq: l.sumsq ?? 0, nonZero: l.count };
  }
  if (g.metric === 'revenue')
    return {
      count: a.revenue.count,
      sum: a.revenue.sum,
      sumSq: a.revenue.sumsq ?? 0,
      nonZero: a.conversions.count > 0 ? a.conversions.sum : a.revenue.count,
    };
  return {
    count: a.conversions.count,
    sum: a.conversions.sum,
    sumSq: a.conversions.sumsq ?? a.conversions.sum,
    nonZero: a.conversions.sum,
  };
}

function startCounts(
  g: Guardrail,
  w: FoldSetup,
  extra: Record<string, unknown>,
  tailMs?: number,
): GuardrailFold {
  const tail = tailMs === undefined ? {} : { tailMs };
  if (w.drift) return { kind: 'drift', test: initDrift({ alpha: w.alpha }), extra, ...tail };
  const relative = g.relative ?? defaultRelative.errors;
  const test = initCountTest({
    alpha: w.alpha,
    form: tailMs !== undefined ? 'cumulative' : errorCountForm,
    detectRatio: 1 + relative,
  });
  return { kind: 'count', test, extra, ...tail };
}

function startMean(
  g: Guardrail,
  w: GuardrailSetup,
  known: { window: readonly Interval[]; scratch: boolean },
): GuardrailFold {
  const relative = g.relative ?? defaultRelative[g.metric as 'conversions' | 'revenue'];
  const of = (i: Interval) => meanOf(g, i.control);
  // τ is fixed from control before the rollout when there is such history, else from control so far.
  const fromHistory = w.history.reduce((s, i) => s + of(i).count, 0) >= 100;
  if (!fromHistory && !known.scratch) return { kind: 'unfoldable' };
  const base = (fromHistory ? w.history : known.window).reduce(
    (s, i) => ({ count: s.count + of(i).count, sum: s.sum + of(i).sum }),
    { count: 0, sum: 0 },
  );
  const baseline = base.count > 0 ? base.sum / base.count : 0;
  const tau = relative * baseline;
  const extra = {
    baseline: {
      mean: baseline,
      units: base.count,
      source: fromHistory ? 'control before the rollout' : 'control so far',
    },
  };
  const test = initMeanTest({ alpha: w.alpha, worse: g.worse, tau });
  return { kind: 'mean', test, extra, missingSquares: false, noBaseline: !(tau > 0) };
}

function startLatency(g: Guardrail, w: GuardrailSetup, window: readonly Interval[]): GuardrailFold {
  if (g.quantile === undefined && g.max === undefined) {
    const tau = Math.log(1 + (g.relative ?? defaultRelative.latency));
    return {
      kind: 'mean',
      test: initMeanTest({ alpha: w.alpha, worse: g.worse, tau, scale: 'log' }),
      missingSquares: false,
      noBaseline: false,
    };
  }
  // A latency limit without a quantile is read as a limit on the median.
  const quantile = g.quantile ?? 0.5;
  if (g.max !== undefined) {
    const options = { limit: 1 - quantile, worse: 'higher' as const, alpha: w.alpha };
    return {
      kind: 'limit',
      certain: initSlo(options),
      possible: initSlo(options),
      interpolated: 0,
      bounds: knownBounds([...w.history, ...window]),
      max: g.max,
    };
  }
  return fixThreshold(g, w, quantile);
}

/**
 * A latency limit (p95 ≤ 300 ms) as an SLO on the share of requests above it. When the limit falls inside a
 * bucket, the histogram cannot tell which of that bucket's requests exceed it: only those certainly above
 * count towards a rollback, and health needs even the possibly-above ones within the limit. Between the two
 * the rollout holds and the reason says which bound to add.
 */
function limitVerdict(fold: Extract<GuardrailFold, { kind: 'limit' }>): Judged {
  const { certain, possible, interpolated, bounds, max } = fold;
  const sure = sloVerdict(certain);
  if (sure.status === 'regressed') return sure;
  const maybe = sloVerdict(possible);
  const straddled = possible.events - certain.events;
  const bucket = bucketHolding(max, bounds);
  if (maybe.status === 'healthy' || straddled <= 0 || !bucket) return maybe;
  return {
    status: 'insufficient-data',
    summary: `the ${max} ms limit lies inside the (${bucket.lower}, ${bucket.upper}] ms bucket: ${straddled} of ${possible.units} treatment requests may or may not exceed it (about ${Math.round(interpolated)} by linear interpolation); send a bucket bound at ${max} ms to decide`,
    evidence: {
      ...maybe.evidence,
      certainlyAbove: certain.events,
      possiblyAbove: possible.events,
      interpolatedAbove: interpolated,
      bucket,
    },
  };
}

const thresholdEvidence = (
  source: string,
  quantile: number,
  ms: number,
  observations: number,
  from: number | null,
  to: number,
) => ({ ms, quantile, source, observations, from, to });

/**
 * The tail threshold, fixed before the test looks at it: from control's histogram before the rollout, or, when
 * there is too little of it, from the first control data after the start; those intervals are then left out.
 */
function fixThreshold(g: Guardrail, w: GuardrailSetup, quantile: number): GuardrailFold {
  const needed = Math.ceil(20 / (1 - quantile));
  const history = w.history.reduce((s, i) => s + histogramTotal(i.control), 0);
  if (history >= needed) {
    const ms = tailThreshold(mergedHistogram(w.history, 'control'), quantile);
    if (ms !== null) {
      const last = w.history.at(-1);
      const threshold = thresholdEvidence(
        'control before the rollout',
        quantile,
        ms,
        history,
        w.history[0]?.start ?? null,
        (last?.start ?? 0) + (last?.width ?? 0),
      );
      return startCounts(g, w, { threshold }, ms);
    }
  }
  const setup: FoldSetup = { alpha: w.alpha, drift: w.drift };
  return { kind: 'seek', setup, quantile, needed, history, seen: 0, merged: [], from: null, to: 0 };
}

/** While seeking a threshold: take in one more interval of control, and fix the threshold once there is enough. */
function seekStep(g: Guardrail, fold: Extract<GuardrailFold, { kind: 'seek' }>, i: Interval): GuardrailFold {
  const merged = new Map(fold.merged);
  for (const [le, n] of i.control.histogram) merged.set(le, (merged.get(le) ?? 0) + n);
  const seen = fold.seen + histogramTotal(i.control);
  const next = { ...fold, seen, merged: [...merged], from: fold.from ?? i.start, to: i.start + i.width };
  if (seen < fold.needed) return next;
  const ms = tailThreshold(sortedHistogram(merged), fold.quantile);
  if (ms === null) return next;
  const threshold = thresholdEvidence(
    'first control data after the start',
    fold.quantile,
    ms,
    seen,
    next.from,
    next.to,
  );
  // The intervals that fixed the threshold are left out: the counting test starts with the next one.
  return startCounts(g, fold.setup, { threshold }, ms);
}
