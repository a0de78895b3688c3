// Drift after 100 % (DETECTION.md §5): a two-sample CUSUM of test 1's increments at one fixed ratio, treatment against a small holdback.
import { type Alarm, type DetectorVerdict, round } from './detector-verdict.ts';
import { addCounts, type CountInterval, emptyCounts, rate, shareIncrement } from './split-likelihood.ts';

export interface DriftOptions {
  /** The rate ratio the CUSUM is tuned to detect. */
  ratio?: number;
  /**
   * Target average run length to a false alarm, in intervals. Lorden's bound gives at least e^h intervals,
   * so h = ln(arl0Intervals). Compared with the holdback, not a fixed baseline, so daily seasonality cancels.
   */
  arl0Intervals: number;
}

export interface DriftState {
  readonly ratio: number;
  readonly h: number;
  /** W = max(0, W + ℓ_k(ratio)). */
  readonly statistic: number;
  readonly totals: CountInterval;
  readonly intervals: number;
  readonly alarm: Alarm | null;
}

export function initDrift(options: DriftOptions): DriftState {
  return {
    ratio: options.ratio ?? 1.2,
    h: Math.log(options.arl0Intervals),
    statistic: 0,
    totals: emptyCounts,
    intervals: 0,
    alarm: null,
  };
}

/** Folds one interval in; treatment is the fully rolled-out arm, control the holdback. */
export function updateDrift(state: DriftState, interval: CountInterval): DriftState {
  const statistic = Math.max(0, state.statistic + shareIncrement(interval, state.ratio));
  const intervals = state.intervals + 1;
  const crossed = !state.alarm && statistic > state.h;
  return {
    ...state,
    statistic,
    totals: addCounts(state.totals, interval),
    intervals,
    alarm: crossed ? { interval: intervals, statistic, threshold: state.h, form: 'cusum' } : state.alarm,
  };
}

export type DriftEvidence = ReturnType<typeof driftEvidence>;

function driftEvidence(state: DriftState) {
  const { totals } = state;
  return {
    test: 'drift-cusum' as const,
    ratio: state.ratio,
    treatment: { requests: totals.nT, events: totals.eT, rate: round(rate(totals.eT, totals.nT)) },
    holdback: { requests: totals.nC, events: totals.eC, rate: round(rate(totals.eC, totals.nC)) },
    statistic: round(state.statistic),
    threshold: round(state.h),
    intervals: state.intervals,
    alarm: state.alarm,
  };
}

/** regressed once W crossed h (sticky); insufficient-data while the holdback has seen no requests; else healthy. */
export function driftVerdict(state: DriftState): DetectorVerdict<DriftEvidence> {
  const evidence = driftEvidence(state);
  const counts = `treatment ${evidence.treatment.events}/${evidence.treatment.requests}, holdback ${evidence.holdback.events}/${evidence.holdback.requests}`;
  if (state.alarm) {
    const at = `CUSUM ${round(state.alarm.statistic)} > ${round(state.h)} at interval ${state.alarm.interval}`;
    return { status: 'regressed', summary: `drift: ${counts}; ${at}`, evidence };
  }
  if (state.totals.nC <= 0) {
    return {
      status: 'insufficient-data',
      summary: `drift: ${counts}; no holdback traffic to compare`,
      evidence,
    };
  }
  return {
    status: 'healthy',
    summary: `drift: ${counts}; CUSUM ${evidence.statistic} ≤ ${evidence.threshold}`,
    evidence,
  };
}
