// Test 1 (DETECTION.md §1): mixture likelihood ratio on the treatment share of bad events, cumulative or change-point mixture (both Ville), as a fold over intervals.
import { advanceChangePoint, logStartWeight } from './change-point.ts';
import { type Alarm, type DetectorVerdict, round } from './detector-verdict.ts';
import {
  addCounts,
  type CountInterval,
  defaultRatios,
  emptyCounts,
  logMeanExp,
  rate,
  shareIncrement,
} from './split-likelihood.ts';

/**
 * 'cumulative' tests from the first interval folded in (Ville: P(ever Σ_r w_r exp(L_r) ≥ 1/α) ≤ α). The product
 * runs 'change-point' for error counts: the change-point mixture (change-point.ts) sums the evidence of every
 * possible onset, the flip weighted 0.9, so it keeps the cumulative test's speed from the flip (errors ×2 at 5 %
 * costs 0.1 nat more) and still catches a change that turns bad after a healthy spell, whose hole in L_r the
 * cumulative test would first have to climb out of. One threshold, ln(1/α), bounds its false rollbacks per
 * rollout however long a stage holds. (It replaces a reflected CUSUM at A = 10⁵ whose bound was H/A: 1.4 % a
 * day, 10 % over a 7-day hold.)
 */
export type CountTestForm = 'cumulative' | 'change-point';

export interface CountTestOptions {
  /** False-rollback budget: the test alarms when its statistic reaches 1/alpha. */
  alpha: number;
  form: CountTestForm;
  ratios?: readonly number[];
  /**
   * Treatment requests before a quiet test counts as healthy rather than insufficient-data. Default: the
   * expected requests to catch a `detectRatio`-fold rise at control's observed rate (DETECTION.md §1).
   */
  minTreatmentRequests?: number;
  detectRatio?: number;
}

export interface CountTestState {
  readonly options: Required<Omit<CountTestOptions, 'minTreatmentRequests'>> & {
    minTreatmentRequests: number | null;
    /** ln of each grid ratio's prior weight (ratioPrior). */
    logPrior: readonly number[];
  };
  /** L_r per grid ratio, summed since the test started. */
  readonly cumulative: readonly number[];
  /** ln S_r per grid ratio: the change-point mixture (−∞ before the first interval). */
  readonly changePoint: readonly number[];
  readonly totals: CountInterval;
  readonly intervals: number;
  /** The first crossing; once set the verdict stays regressed, as the rollback it triggered would. */
  readonly alarm: Alarm | null;
}

/**
 * Prior weights over the ratio grid: log-normal around the ratio the guardrail guards against (1 + relative),
 * with scale ln 2, normalized to 1. The mixture is valid for any fixed weights; centring them where the plan
 * says the harm starts spends the evidence there. For the default 2×: 2× weighs 0.25 (a uniform grid gives
 * 0.17: 0.39 nat less to catch a doubling), 5× 0.10 (0.47 nat more), 10× 0.017 — a tenfold rise builds
 * evidence so fast that the extra 2.3 nats cost it about a minute.
 */
export function ratioPrior(ratios: readonly number[], centre: number): number[] {
  const scale = Math.LN2;
  const raw = ratios.map(
    (r) => -((Math.log(r) - Math.log(Math.max(centre, 1.01))) ** 2) / (2 * scale * scale),
  );
  const norm = logSumExp(raw);
  return raw.map((x) => x - norm);
}

const logSumExp = (xs: readonly number[]): number => logMeanExp(xs) + Math.log(xs.length);

/** ln Σ_r w_r exp(x_r). */
function logWeighted(xs: readonly number[], logWeights: readonly number[]): number {
  return logSumExp(xs.map((x, i) => x + (logWeights[i] as number)));
}

/** The test's two statistics on a log scale: the cumulative e-value, and the change-point mixture that decides. */
export function countStatistics(state: CountTestState): { cumulative: number; changePoint: number } {
  const { logPrior } = state.options;
  return {
    cumulative: logWeighted(state.cumulative, logPrior),
    changePoint: logWeighted(state.changePoint, logPrior),
  };
}

export function initCountTest(options: CountTestOptions): CountTestState {
  const ratios = options.ratios ?? defaultRatios;
  return {
    options: {
      alpha: options.alpha,
      form: options.form,
      ratios,
      minTreatmentRequests: options.minTreatmentRequests ?? null,
      detectRatio: options.detectRatio ?? 2,
      logPrior: ratioPrior(ratios, options.detectRatio ?? 2),
    },
    cumulative: ratios.map(() => 0),
    changePoint: ratios.map(() => Number.NEGATIVE_INFINITY),
    totals: emptyCounts,
    intervals: 0,
    alarm: null,
  };
}

export function updateCountTest(state: CountTestState, interval: CountInterval): CountTestState {
  const { ratios } = state.options;
  const intervals = state.intervals + 1;
  const cumulative = new Array<number>(ratios.length);
  const changePoint = new Array<number>(ratios.length);
  const logWeight = logStartWeight(intervals);
  for (let i = 0; i < ratios.length; i++) {
    const step = shareIncrement(interval, ratios[i] as number);
    cumulative[i] = (state.cumulative[i] as number) + step;
    changePoint[i] = advanceChangePoint(state.changePoint[i] as number, step, logWeight);
  }
  return {
    options: state.options,
    cumulative,
    changePoint,
    totals: addCounts(state.totals, interval),
    intervals,
    alarm: state.alarm ?? crossing(state.options, cumulative, changePoint, intervals),
  };
}

function crossing(
  options: CountTestState['options'],
  cumulative: readonly number[],
  changePoint: readonly number[],
  interval: number,
): Alarm | null {
  const threshold = -Math.log(options.alpha);
  const { logPrior } = options;
  if (options.form === 'cumulative') return crossed(cumulative, logPrior, threshold, interval, 'cumulative');
  const alarm = crossed(changePoint, logPrior, threshold, interval, 'change-point');
  // Named for the onset that carries it: the flip's term alone (w_1·Σ w_r exp(L_r)) already crossing is "cumulative".
  if (alarm && logWeighted(cumulative, logPrior) + logStartWeight(1) >= threshold) alarm.form = 'cumulative';
  return alarm;
}

function crossed(
  logs: readonly number[],
  logPrior: readonly number[],
  threshold: number,
  interval: number,
  form: string,
): Alarm | null {
  // A weighted mean of exp(L_r) is at most its largest term, so below the threshold there is nothing to average.
  if (Math.max(...logs) < threshold) return null;
  const statistic = logWeighted(logs, logPrior);
  return statistic >= threshold ? { interval, statistic, threshold, form } : null;
}

/**
 * Expected treatment requests to catch an r-fold rise over baseline rate p0: ln(1/(α·w)) / (p0·(r ln r − r + 1)),
 * where w is the prior weight of the grid ratio nearest r (1/G on a uniform grid of G ratios).
 */
export function requestsToDetect(ratio: number, baselineRate: number, alpha: number, weight: number): number {
  const information = baselineRate * (ratio * Math.log(ratio) - ratio + 1);
  return information > 0 ? Math.log(1 / (alpha * weight)) / information : Number.POSITIVE_INFINITY;
}

/** The prior weight of the grid ratio nearest `ratio` (on a log scale). */
function weightNear(options: CountTestState['options'], ratio: number): number {
  const distance = options.ratios.map((r) => Math.abs(Math.log(r) - Math.log(ratio)));
  return Math.exp(options.logPrior[distance.indexOf(Math.min(...distance))] as number);
}

export type CountTestEvidence = ReturnType<typeof countEvidence>;

function countEvidence(state: CountTestState) {
  const { totals, options } = state;
  const rateT = rate(totals.eT, totals.nT);
  const rateC = rate(totals.eC, totals.nC);
  // Half an event keeps a control arm with no bad events from asking for zero or infinite exposure.
  const baseline = (totals.eC + 0.5) / (totals.nC + 1);
  const minTreatmentRequests =
    options.minTreatmentRequests ??
    Math.ceil(
      requestsToDetect(
        options.detectRatio,
        baseline,
        options.alpha,
        weightNear(options, options.detectRatio),
      ),
    );
  const { cumulative: logEValue, changePoint: logChangePoint } = countStatistics(state);
  const best = state.cumulative.indexOf(Math.max(...state.cumulative));
  return {
    test: 'count-mixture' as const,
    form: options.form,
    treatment: { requests: totals.nT, events: totals.eT, rate: round(rateT) },
    control: { requests: totals.nC, events: totals.eC, rate: round(rateC) },
    rateRatio: rateT !== null && rateC ? round(rateT / rateC) : null,
    logEValue: round(logEValue),
    logEValueThreshold: round(Math.log(1 / options.alpha)),
    logChangePoint: options.form === 'change-point' ? round(logChangePoint) : null,
    mostLikelyRatio: options.ratios[best] ?? null,
    intervals: state.intervals,
    minTreatmentRequests,
    alarm: state.alarm,
  };
}

/**
 * regressed: a form crossed its threshold (sticky). healthy: no alarm, at least `minTreatmentRequests`
 * treatment requests, so a `detectRatio`-fold rise would probably have been caught by now, and at least as
 * many control requests to compare them with. insufficient-data otherwise: without control the share test
 * learns nothing (an interval with one arm empty adds 0), so quiet is not evidence of health.
 */
export function countTestVerdict(state: CountTestState): DetectorVerdict<CountTestEvidence> {
  const evidence = countEvidence(state);
  const { treatment, control } = evidence;
  const counts = `treatment ${treatment.events}/${treatment.requests}, control ${control.events}/${control.requests}`;
  if (state.alarm) {
    return {
      status: 'regressed',
      summary: `bad-event share: ${counts}; ${state.alarm.form} statistic ${round(state.alarm.statistic)} ≥ ${round(state.alarm.threshold)} (log scale) at interval ${state.alarm.interval}`,
      evidence,
    };
  }
  const noControl = (head: string) => ({
    status: 'insufficient-data' as const,
    missing: 'control' as const,
    summary: `${head}: ${counts}; comparing needs ${evidence.minTreatmentRequests} control requests`,
    evidence,
  });
  if (control.requests === 0) return noControl('no control traffic');
  if (treatment.requests < evidence.minTreatmentRequests) {
    return {
      status: 'insufficient-data',
      summary: `bad-event share: ${counts}; need ${evidence.minTreatmentRequests} treatment requests to rule out a ${state.options.detectRatio}× rise`,
      evidence,
    };
  }
  if (control.requests < evidence.minTreatmentRequests) return noControl('too little control traffic');
  return {
    status: 'healthy',
    summary: `bad-event share: ${counts}; log e-value ${evidence.logEValue} < ${evidence.logEValueThreshold}`,
    evidence,
  };
}
