// Test 2 (DETECTION.md §2): one-sided normal-mixture mSPRT on a mean (log latency, capped revenue per user, conversion rate) from per-arm sufficient statistics, as a fold over intervals.
import { type Alarm, type DetectorVerdict, round } from './detector-verdict.ts';
import { logNormalCdf } from './distributions.ts';

/** Sufficient statistics of one arm over some units: Σ1, Σx, Σx², and how many x were nonzero (events). */
export interface MeanStats {
  count: number;
  sum: number;
  sumSq: number;
  nonZero: number;
}

export interface MeanTestOptions {
  alpha: number;
  /** Which direction of the metric is a regression. */
  worse: 'higher' | 'lower';
  /** Mixing scale τ in the metric's units: the smallest harmful effect, or see `mixingScale`. */
  tau: number;
  /** Both arms need this many units and events before the test may act (the variance is estimated). */
  warmupUnits?: number;
  warmupEvents?: number;
  /** Smallest harmful difference (in the worse direction, metric units); enables 'inconclusive'. */
  harmMargin?: number;
  /** Treatment units at which the stage expects to decide; with `harmMargin`, see `meanTestVerdict`. */
  plannedTreatmentUnits?: number;
  /** 'log' when the metric is already a log (latency), so the interval is also shown as a ratio. */
  scale?: 'linear' | 'log';
}

export interface MeanTestState {
  readonly options: MeanTestOptions;
  readonly treatment: MeanStats;
  readonly control: MeanStats;
  readonly intervals: number;
  readonly alarm: Alarm | null;
}

export const emptyStats: MeanStats = { count: 0, sum: 0, sumSq: 0, nonZero: 0 };

export function addStats(a: MeanStats, b: MeanStats): MeanStats {
  return {
    count: a.count + b.count,
    sum: a.sum + b.sum,
    sumSq: a.sumSq + b.sumSq,
    nonZero: a.nonZero + b.nonZero,
  };
}

export function initMeanTest(options: MeanTestOptions): MeanTestState {
  return { options, treatment: emptyStats, control: emptyStats, intervals: 0, alarm: null };
}

/**
 * τ = √(factor · V) with V = σ_T²/n_T + σ_C²/n_C at the sample sizes where a decision is expected; the
 * default factor 11.5 puts the mixture's best power near 3.4 standard errors, where α = 0.01 decides.
 */
export function mixingScale(sd: { treatment: number; control: number }, planned: { nT: number; nC: number }) {
  return Math.sqrt(11.5 * (sd.treatment ** 2 / planned.nT + sd.control ** 2 / planned.nC));
}

function moments(s: MeanStats) {
  const mean = s.count > 0 ? s.sum / s.count : 0;
  const variance = s.count > 1 ? Math.max(0, (s.sumSq - s.sum * mean) / (s.count - 1)) : 0;
  return { mean, variance };
}

/** The statistic and the always-valid interval for treatment − control at the current totals. */
export function meanStatistic(state: Pick<MeanTestState, 'options' | 'treatment' | 'control'>) {
  const { treatment, control, options } = state;
  const t = moments(treatment);
  const c = moments(control);
  const difference = t.mean - c.mean;
  const theta = options.worse === 'higher' ? difference : -difference;
  const v =
    treatment.count > 0 && control.count > 0 ? t.variance / treatment.count + c.variance / control.count : 0;
  const tau2 = options.tau ** 2;
  if (!(v > 0) || !(tau2 > 0)) return { t, c, difference, logLambda: 0, halfWidth: Number.POSITIVE_INFINITY };
  const logLambda =
    Math.LN2 +
    0.5 * Math.log(v / (v + tau2)) +
    (theta * theta * tau2) / (2 * v * (v + tau2)) +
    logNormalCdf((theta * options.tau) / Math.sqrt(v * (v + tau2)));
  const halfWidth = Math.sqrt(
    ((v * (v + tau2)) / tau2) * (2 * Math.log(1 / options.alpha) + Math.log((v + tau2) / v)),
  );
  return { t, c, difference, logLambda, halfWidth };
}

function warmedUp(state: MeanTestState): boolean {
  const units = state.options.warmupUnits ?? 100;
  const events = state.options.warmupEvents ?? 10;
  const arms = [state.treatment, state.control];
  return arms.every((a) => a.count >= units && a.nonZero >= events);
}

export function updateMeanTest(state: MeanTestState, interval: { treatment: MeanStats; control: MeanStats }) {
  const next: MeanTestState = {
    options: state.options,
    treatment: addStats(state.treatment, interval.treatment),
    control: addStats(state.control, interval.control),
    intervals: state.intervals + 1,
    alarm: state.alarm,
  };
  if (next.alarm || !warmedUp(next)) return next;
  const { logLambda } = meanStatistic(next);
  const threshold = Math.log(1 / state.options.alpha);
  if (logLambda < threshold) return next;
  return { ...next, alarm: { interval: next.intervals, statistic: logLambda, threshold, form: 'msprt' } };
}

export type MeanTestEvidence = ReturnType<typeof meanEvidence>;

function meanEvidence(state: MeanTestState) {
  const { t, c, difference, logLambda, halfWidth } = meanStatistic(state);
  const lower = difference - halfWidth;
  const upper = difference + halfWidth;
  const log = state.options.scale === 'log';
  return {
    test: 'msprt' as const,
    worse: state.options.worse,
    treatment: {
      units: state.treatment.count,
      events: state.treatment.nonZero,
      mean: round(t.mean),
      sd: round(Math.sqrt(t.variance)),
    },
    control: {
      units: state.control.count,
      events: state.control.nonZero,
      mean: round(c.mean),
      sd: round(Math.sqrt(c.variance)),
    },
    difference: round(difference),
    logLambda: round(logLambda),
    logThreshold: round(Math.log(1 / state.options.alpha)),
    tau: state.options.tau,
    interval: { lower: round(lower), upper: round(upper) },
    ratioInterval: log ? { lower: round(Math.exp(lower)), upper: round(Math.exp(upper)) } : null,
    warmedUp: warmedUp(state),
    alarm: state.alarm,
  };
}

/**
 * regressed: ln Λ crossed ln(1/α) after warm-up (sticky). insufficient-data: warm-up not met. Without a
 * `harmMargin`, a warmed-up quiet test is healthy. With one, healthy needs the always-valid interval to
 * exclude harm (its worse end inside the margin); while it does not, the test is insufficient-data until
 * the treatment reaches `plannedTreatmentUnits`, and inconclusive after: the planned sample could not
 * tell "no harm" from "harm", which more waiting at the planned design will not fix and a person must judge.
 */
export function meanTestVerdict(state: MeanTestState): DetectorVerdict<MeanTestEvidence> {
  const evidence = meanEvidence(state);
  const o = state.options;
  const arms = `treatment ${evidence.treatment.mean} (n=${evidence.treatment.units}), control ${evidence.control.mean} (n=${evidence.control.units})`;
  const ci = `always-valid difference [${evidence.interval.lower}, ${evidence.interval.upper}]`;
  if (state.alarm) {
    const at = `ln Λ ${round(state.alarm.statistic)} ≥ ${round(state.alarm.threshold)} at interval ${state.alarm.interval}`;
    return { status: 'regressed', summary: `mean: ${arms}; ${at}; ${ci}`, evidence };
  }
  if (!evidence.warmedUp) {
    const need = `warm-up needs ${o.warmupUnits ?? 100} units and ${o.warmupEvents ?? 10} events per arm`;
    const short = (a: MeanStats) => a.count < (o.warmupUnits ?? 100) || a.nonZero < (o.warmupEvents ?? 10);
    // Control is named as the reason when it is empty, or when it alone holds the test back.
    const noControl = state.control.count === 0 || (short(state.control) && !short(state.treatment));
    if (!noControl) return { status: 'insufficient-data', summary: `mean: ${arms}; ${need}`, evidence };
    const head = state.control.count === 0 ? 'no control traffic' : 'too little control traffic';
    return {
      status: 'insufficient-data',
      missing: 'control',
      summary: `${head}: mean: ${arms}; ${need}`,
      evidence,
    };
  }
  const worstEnd = o.worse === 'higher' ? (evidence.interval.upper ?? 0) : -(evidence.interval.lower ?? 0);
  if (o.harmMargin === undefined || worstEnd <= o.harmMargin) {
    return { status: 'healthy', summary: `mean: ${arms}; ln Λ ${evidence.logLambda}; ${ci}`, evidence };
  }
  const planned = o.plannedTreatmentUnits;
  const status =
    planned !== undefined && state.treatment.count >= planned ? 'inconclusive' : 'insufficient-data';
  return { status, summary: `mean: ${arms}; ${ci} does not yet exclude a harm of ${o.harmMargin}`, evidence };
}
