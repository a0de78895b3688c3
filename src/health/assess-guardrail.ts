// One plan guardrail judged over stored intervals: picks the detector for its kind, folds the intervals in, returns the verdict with evidence.
import type { Guardrail } from '../plans/schema.ts';
import { countTestVerdict, initCountTest, updateCountTest } from './detectors/count-test.ts';
import type { DetectorVerdict } from './detectors/detector-verdict.ts';
import { driftVerdict, initDrift, updateDrift } from './detectors/drift.ts';
import { initMeanTest, type MeanStats, meanTestVerdict, updateMeanTest } from './detectors/mean-test.ts';
import { initSlo, sloVerdict, updateSlo } from './detectors/slo-bound.ts';
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
} from './intervals.ts';
import type { GuardrailVerdict } from './verdict.ts';

export interface GuardrailWindow {
  /** This guardrail's share of the rollout's false-rollback budget. */
  alpha: number;
  /** The intervals the test folds: from the rollout start, or from completion when watching for drift. */
  intervals: readonly Interval[];
  /** Control's intervals before the rollout started: tail thresholds and baselines are fixed from these. */
  history: readonly Interval[];
  /** After 100 % with a holdback: count guardrails run the two-sample CUSUM instead. */
  drift: boolean;
  driftArl0Intervals: number;
  /** Multiplies the reflected form's threshold A when this test shares its guardrail's budget (segments). */
  detectorScale?: number;
}

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
  if (g.max !== undefined || g.min !== undefined) return 0.05;
  if (g.metric === 'errors') return 0.8;
  if (g.metric === 'latency') return g.quantile !== undefined ? 0.05 : 0.1;
  return 0.5;
}

/** The form of test 1 for error counts: cumulative from the rollout start, with a reflected CUSUM beside it for late onsets. */
export const errorCountForm = { form: 'both', detectorThreshold: 1e5 } as const;

export function guardrailName(g: Guardrail): string {
  const tail = g.quantile !== undefined ? ` p${Math.round(g.quantile * 1000) / 10}` : '';
  if (g.max !== undefined) return `${g.metric}${tail} <= ${g.max}${g.metric === 'latency' ? 'ms' : ''}`;
  if (g.min !== undefined) return `${g.metric}${tail} >= ${g.min}`;
  return g.metric === 'latency' && tail ? `latency${tail}` : `${g.metric} (relative)`;
}

type Judged = DetectorVerdict<object> & { extra?: Record<string, unknown> };

const verdict = (g: Guardrail, index: number, w: GuardrailWindow, j: Judged): GuardrailVerdict => {
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
    evidence: { ...j.evidence, ...j.extra, alpha: w.alpha, intervals: w.intervals.length },
  };
};

const problem = (summary: string): Judged => ({ status: 'inconclusive', summary, evidence: {} });

export function assessGuardrail(g: Guardrail, index: number, w: GuardrailWindow): GuardrailVerdict {
  return verdict(g, index, w, judge(g, w));
}

function judge(g: Guardrail, w: GuardrailWindow): Judged {
  const limit = g.max ?? g.min;
  const worse = g.worse;
  switch (g.metric) {
    case 'errors':
      if (limit !== undefined)
        return slo(w, limit, worse, (a) => ({ units: a.errors.count, events: a.errors.sum }));
      return counts(w, g, (a) => rateCounts(a.errors, worse));
    case 'conversions':
      if (limit !== undefined)
        return slo(w, limit, worse, (a) => ({
          units: a.conversions.count,
          events: Math.min(a.conversions.sum, a.conversions.count),
        }));
      return mean(w, g, (a) => ({
        count: a.conversions.count,
        sum: a.conversions.sum,
        sumSq: a.conversions.sumsq ?? a.conversions.sum,
        nonZero: a.conversions.sum,
      }));
    case 'revenue':
      if (limit !== undefined)
        return problem('absolute limits apply to rates and latency quantiles, not to revenue; use relative');
      if (w.intervals.some((i) => i.treatment.revenue.sumsq === null || i.control.revenue.sumsq === null))
        return problem(
          'revenue arrived without revenueSquares, so its variance is unknown; senders must include it',
        );
      return mean(w, g, (a) => ({
        count: a.revenue.count,
        sum: a.revenue.sum,
        sumSq: a.revenue.sumsq ?? 0,
        nonZero: a.conversions.count > 0 ? a.conversions.sum : a.revenue.count,
      }));
    case 'latency':
      return latency(g, w);
    default:
      return problem(`unknown metric "${g.metric}"`);
  }
}

/** Bad events of a rate: the events when more is worse, the non-events when less is worse. */
function rateCounts(a: Aggregate, worse: Guardrail['worse']) {
  return { n: a.count, e: worse === 'higher' ? a.sum : Math.max(0, a.count - a.sum) };
}

function counts(
  w: GuardrailWindow,
  g: Guardrail,
  of: (a: ArmStats) => { n: number; e: number },
  extra: Record<string, unknown> = {},
  cumulativeOnly = false,
): Judged {
  const intervalOf = (i: Interval): CountInterval => {
    const t = of(i.treatment);
    const c = of(i.control);
    return { nT: t.n, nC: c.n, eT: t.e, eC: c.e };
  };
  if (w.drift) {
    let state = initDrift({ arl0Intervals: w.driftArl0Intervals });
    for (const i of w.intervals) state = updateDrift(state, intervalOf(i));
    return { ...driftVerdict(state), extra: { ...extra, drift: true } };
  }
  const relative = g.relative ?? defaultRelative.errors;
  let state = initCountTest({
    alpha: w.alpha,
    ...(cumulativeOnly
      ? { form: 'cumulative' as const }
      : { ...errorCountForm, detectorThreshold: errorCountForm.detectorThreshold * (w.detectorScale ?? 1) }),
    detectRatio: 1 + relative,
  });
  for (const i of w.intervals) state = updateCountTest(state, intervalOf(i));
  return { ...countTestVerdict(state), extra };
}

function slo(
  w: GuardrailWindow,
  limit: number,
  worse: Guardrail['worse'],
  of: (a: ArmStats) => { units: number; events: number },
): Judged {
  let state = initSlo({ limit, worse, alpha: w.alpha });
  for (const i of w.intervals) state = updateSlo(state, of(i.treatment));
  return sloVerdict(state);
}

function mean(w: GuardrailWindow, g: Guardrail, of: (a: ArmStats) => MeanStats): Judged {
  const relative = g.relative ?? defaultRelative[g.metric as 'conversions' | 'revenue'];
  // τ is fixed from control before the rollout when there is such history, else from control so far.
  const fromHistory = w.history.reduce((s, i) => s + of(i.control).count, 0) >= 100;
  const base = (fromHistory ? w.history : w.intervals).reduce(
    (s, i) => ({ count: s.count + of(i.control).count, sum: s.sum + of(i.control).sum }),
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
  if (!(tau > 0))
    return {
      status: 'insufficient-data',
      summary: 'no control baseline yet to scale the test',
      evidence: extra,
    };
  let state = initMeanTest({ alpha: w.alpha, worse: g.worse, tau });
  for (const i of w.intervals)
    state = updateMeanTest(state, { treatment: of(i.treatment), control: of(i.control) });
  return { ...meanTestVerdict(state), extra };
}

function latency(g: Guardrail, w: GuardrailWindow): Judged {
  if (g.quantile === undefined && g.max === undefined) {
    const logStats = (a: ArmStats): MeanStats => {
      const l = a['log-latency'];
      return { count: l.count, sum: l.sum, sumSq: l.sumsq ?? 0, nonZero: l.count };
    };
    const tau = Math.log(1 + (g.relative ?? defaultRelative.latency));
    let state = initMeanTest({ alpha: w.alpha, worse: g.worse, tau, scale: 'log' });
    for (const i of w.intervals)
      state = updateMeanTest(state, { treatment: logStats(i.treatment), control: logStats(i.control) });
    return meanTestVerdict(state);
  }
  // A latency limit without a quantile is read as a limit on the median.
  const quantile = g.quantile ?? 0.5;
  if (g.max !== undefined) return latencyLimit(w, quantile, g.max);
  const fixed = fixThreshold(w, quantile);
  if (!fixed.ok)
    return { status: 'insufficient-data', missing: 'control', summary: fixed.missing, evidence: {} };
  const extra = { threshold: fixed.evidence };
  const tested = { ...w, intervals: w.intervals.slice(fixed.skip) };
  return counts(
    tested,
    g,
    (a) => {
      const n = histogramTotal(a);
      // Less is worse: the bad events are the fast ones, below the threshold.
      const above = countAbove(a, fixed.ms);
      return { n, e: g.worse === 'higher' ? above : n - above };
    },
    extra,
    true,
  );
}

/**
 * A latency limit (p95 ≤ 300 ms) as an SLO on the share of requests above it. When the limit falls inside a
 * bucket, the histogram cannot tell which of that bucket's requests exceed it: only those certainly above
 * count towards a rollback, and health needs even the possibly-above ones within the limit. Between the two
 * the rollout holds and the reason says which bound to add.
 */
function latencyLimit(w: GuardrailWindow, quantile: number, max: number): Judged {
  const bounds = knownBounds([...w.history, ...w.intervals]);
  const options = { limit: 1 - quantile, worse: 'higher' as const, alpha: w.alpha };
  let certain = initSlo(options);
  let possible = initSlo(options);
  let interpolated = 0;
  for (const i of w.intervals) {
    const units = histogramTotal(i.treatment);
    const x = exceedancesOf(i.treatment, max, bounds);
    certain = updateSlo(certain, { units, events: x.certain });
    possible = updateSlo(possible, { units, events: x.possible });
    interpolated += x.interpolated;
  }
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

/**
 * The tail threshold, fixed before the test looks at it: from control's histogram before the rollout, or, when
 * there is too little of it, from the first control data after the start; those intervals are then left out.
 */
function fixThreshold(w: GuardrailWindow, quantile: number) {
  const needed = Math.ceil(20 / (1 - quantile));
  const describe = (source: string, intervals: readonly Interval[], ms: number) => ({
    ms,
    quantile,
    source,
    observations: intervals.reduce((s, i) => s + histogramTotal(i.control), 0),
    from: intervals[0]?.start ?? null,
    to: (intervals.at(-1)?.start ?? 0) + (intervals.at(-1)?.width ?? 0),
  });
  const history = w.history.reduce((s, i) => s + histogramTotal(i.control), 0);
  if (history >= needed) {
    const ms = tailThreshold(mergedHistogram(w.history, 'control'), quantile);
    if (ms !== null)
      return {
        ok: true as const,
        ms,
        skip: 0,
        evidence: describe('control before the rollout', w.history, ms),
      };
  }
  let seen = 0;
  for (let k = 0; k < w.intervals.length; k++) {
    seen += histogramTotal((w.intervals[k] as Interval).control);
    if (seen < needed) continue;
    const first = w.intervals.slice(0, k + 1);
    const ms = tailThreshold(mergedHistogram(first, 'control'), quantile);
    if (ms !== null)
      return {
        ok: true as const,
        ms,
        skip: k + 1,
        evidence: describe('first control data after the start', first, ms),
      };
  }
  return {
    ok: false as const,
    missing: `${history + seen === 0 ? 'no control traffic' : 'too little control traffic'}: fixing the p${quantile * 100} threshold needs ${needed} control latencies in finite buckets; have ${history + seen}`,
  };
}
