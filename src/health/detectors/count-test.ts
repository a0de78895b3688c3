// Test 1 (DETECTION.md §1): mixture likelihood ratio on the treatment share of bad events, cumulative (Ville) and reflected (CUSUM / e-detector) forms, as a fold over intervals.
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
 * The product runs 'both', as the detection benchmark decided on the same traffic: the cumulative form is
 * the fast one from the flag flip and carries Ville's per-rollout bound (errors ×2 at 5 %: median 59 min
 * against 124 reflected); the reflected form is the fast one when a change turns bad after a healthy spell,
 * because it never digs the hole a healthy hour leaves in L_r (×5 after an hour: 13 min against 18).
 * Running both costs the reflected form's false alarms on top, about 0.1 % of healthy rollouts a day at
 * A = 10⁵ (its guarantee is an average run length of at least A intervals, not a per-rollout probability).
 */
export type CountTestForm = 'cumulative' | 'reflected' | 'both';

export interface CountTestOptions {
  /** False-rollback budget of the cumulative form: it alarms when mean_r exp(L_r) ≥ 1/alpha. */
  alpha: number;
  /**
   * 'cumulative' keeps L_r from the first interval folded in; 'reflected' keeps W_r = max(0, W_r + ℓ) and
   * alarms at mean_r exp(W_r) ≥ detectorThreshold; 'both' alarms when either crosses its own threshold.
   */
  form: CountTestForm;
  /** A for the reflected form: its average run length to a false alarm is at least A intervals. */
  detectorThreshold?: number;
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
  };
  /** L_r per grid ratio, summed since the test started. */
  readonly cumulative: readonly number[];
  /** W_r per grid ratio, reflected at zero. */
  readonly reflected: readonly number[];
  readonly totals: CountInterval;
  readonly intervals: number;
  /** The first crossing; once set the verdict stays regressed, as the rollback it triggered would. */
  readonly alarm: Alarm | null;
}

export function initCountTest(options: CountTestOptions): CountTestState {
  const ratios = options.ratios ?? defaultRatios;
  return {
    options: {
      alpha: options.alpha,
      form: options.form,
      detectorThreshold: options.detectorThreshold ?? 1e5,
      ratios,
      minTreatmentRequests: options.minTreatmentRequests ?? null,
      detectRatio: options.detectRatio ?? 2,
    },
    cumulative: ratios.map(() => 0),
    reflected: ratios.map(() => 0),
    totals: emptyCounts,
    intervals: 0,
    alarm: null,
  };
}

export function updateCountTest(state: CountTestState, interval: CountInterval): CountTestState {
  const { ratios } = state.options;
  const cumulative = new Array<number>(ratios.length);
  const reflected = new Array<number>(ratios.length);
  for (let i = 0; i < ratios.length; i++) {
    const step = shareIncrement(interval, ratios[i] as number);
    cumulative[i] = (state.cumulative[i] as number) + step;
    reflected[i] = Math.max(0, (state.reflected[i] as number) + step);
  }
  const intervals = state.intervals + 1;
  return {
    options: state.options,
    cumulative,
    reflected,
    totals: addCounts(state.totals, interval),
    intervals,
    alarm: state.alarm ?? crossing(state.options, cumulative, reflected, intervals),
  };
}

function crossing(
  options: CountTestState['options'],
  cumulative: readonly number[],
  reflected: readonly number[],
  interval: number,
): Alarm | null {
  if (options.form !== 'reflected') {
    const alarm = crossed(cumulative, -Math.log(options.alpha), interval, 'cumulative');
    if (alarm) return alarm;
  }
  return options.form !== 'cumulative'
    ? crossed(reflected, Math.log(options.detectorThreshold), interval, 'reflected')
    : null;
}

function crossed(logs: readonly number[], threshold: number, interval: number, form: string): Alarm | null {
  // The mean of exp(L_r) is at most its largest term, so below the threshold there is nothing to average.
  if (Math.max(...logs) < threshold) return null;
  const statistic = logMeanExp(logs);
  return statistic >= threshold ? { interval, statistic, threshold, form } : null;
}

/**
 * A for the reflected form so that a false alarm within `horizonIntervals` has probability at most
 * `alphaShare`. mean_r exp(W_r) ≤ 1 + R_t, where R_t = mean_r Σ_j Π_{i=j..t} exp(ℓ_i(r)) is the
 * Shiryaev–Roberts mixture; R_t + (H − t) is a nonnegative supermartingale starting at H, so by Ville
 * P(max_{t≤H} R_t ≥ A − 1) ≤ H / (A − 1). Past the horizon the guarantee weakens linearly.
 */
export function detectorThresholdFor(alphaShare: number, horizonIntervals: number): number {
  return 1 + horizonIntervals / alphaShare;
}

/** Expected treatment requests to catch an r-fold rise over baseline rate p0: ln(G/α) / (p0·(r ln r − r + 1)). */
export function requestsToDetect(
  ratio: number,
  baselineRate: number,
  alpha: number,
  gridSize: number,
): number {
  const information = baselineRate * (ratio * Math.log(ratio) - ratio + 1);
  return information > 0 ? Math.log(gridSize / alpha) / information : Number.POSITIVE_INFINITY;
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
    Math.ceil(requestsToDetect(options.detectRatio, baseline, options.alpha, options.ratios.length));
  const logEValue = logMeanExp(state.cumulative);
  const logDetector = logMeanExp(state.reflected);
  const best = state.cumulative.indexOf(Math.max(...state.cumulative));
  return {
    test: 'count-mixture' as const,
    form: options.form,
    treatment: { requests: totals.nT, events: totals.eT, rate: round(rateT) },
    control: { requests: totals.nC, events: totals.eC, rate: round(rateC) },
    rateRatio: rateT !== null && rateC ? round(rateT / rateC) : null,
    logEValue: round(logEValue),
    logEValueThreshold: round(Math.log(1 / options.alpha)),
    logDetector: round(logDetector),
    logDetectorThreshold: round(Math.log(options.detectorThreshold)),
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
