// Drift after 100 % (DETECTION.md §5): test 1's share increments, treatment against a small holdback, as a change-point mixture over a grid of small ratios, from completion on.
import { advanceChangePoint, logStartWeight } from './change-point.ts';
import { type Alarm, type DetectorVerdict, round } from './detector-verdict.ts';
import {
  addCounts,
  type CountInterval,
  emptyCounts,
  logMeanExp,
  rate,
  shareIncrement,
} from './split-likelihood.ts';

/**
 * Drift is slow: the ratios a change drifts through before anyone would call it an incident. The grid reaches
 * 3× so a sudden break after completion is caught as fast as the rollout's own test would.
 */
export const driftRatios: readonly number[] = [1.1, 1.2, 1.35, 1.5, 2, 3];

export interface DriftOptions {
  /**
   * False-rollback budget over the whole watch, however long: the change-point mixture alarms when its
   * statistic reaches 1/alpha (Ville). Compared with the holdback, not a fixed baseline, so daily seasonality
   * cancels.
   */
  alpha: number;
  ratios?: readonly number[];
}

export interface DriftState {
  readonly alpha: number;
  readonly ratios: readonly number[];
  /** ln S_r per ratio (change-point.ts). */
  readonly changePoint: readonly number[];
  readonly totals: CountInterval;
  readonly intervals: number;
  readonly alarm: Alarm | null;
}

export function initDrift(options: DriftOptions): DriftState {
  const ratios = options.ratios ?? driftRatios;
  return {
    alpha: options.alpha,
    ratios,
    changePoint: ratios.map(() => Number.NEGATIVE_INFINITY),
    totals: emptyCounts,
    intervals: 0,
    alarm: null,
  };
}

/** ln of the statistic the alarm compares with ln(1/α). */
export const driftStatistic = (state: DriftState): number => logMeanExp(state.changePoint);

/** Folds one interval in; treatment is the fully rolled-out arm, control the holdback. */
export function updateDrift(state: DriftState, interval: CountInterval): DriftState {
  const intervals = state.intervals + 1;
  const logWeight = logStartWeight(intervals);
  const changePoint = state.ratios.map((r, i) =>
    advanceChangePoint(state.changePoint[i] as number, shareIncrement(interval, r), logWeight),
  );
  const next = { ...state, changePoint, totals: addCounts(state.totals, interval), intervals };
  if (state.alarm) return next;
  const statistic = driftStatistic(next);
  const threshold = -Math.log(state.alpha);
  return statistic >= threshold
    ? { ...next, alarm: { interval: intervals, statistic, threshold, form: 'change-point' } }
    : next;
}

export type DriftEvidence = ReturnType<typeof driftEvidence>;

function driftEvidence(state: DriftState) {
  const { totals } = state;
  const best = state.changePoint.indexOf(Math.max(...state.changePoint));
  return {
    test: 'drift-change-point' as const,
    alpha: state.alpha,
    treatment: { requests: totals.nT, events: totals.eT, rate: round(rate(totals.eT, totals.nT)) },
    holdback: { requests: totals.nC, events: totals.eC, rate: round(rate(totals.eC, totals.nC)) },
    mostLikelyRatio: state.intervals > 0 ? (state.ratios[best] ?? null) : null,
    statistic: round(state.intervals > 0 ? driftStatistic(state) : 0),
    threshold: round(-Math.log(state.alpha)),
    intervals: state.intervals,
    alarm: state.alarm,
  };
}

/** regressed once the statistic reached ln(1/α) (sticky); insufficient-data while the holdback has seen no requests; else healthy. */
export function driftVerdict(state: DriftState): DetectorVerdict<DriftEvidence> {
  const evidence = driftEvidence(state);
  const counts = `treatment ${evidence.treatment.events}/${evidence.treatment.requests}, holdback ${evidence.holdback.events}/${evidence.holdback.requests}`;
  if (state.alarm) {
    const at = `evidence ${round(state.alarm.statistic)} ≥ ${round(state.alarm.threshold)} (log scale) at interval ${state.alarm.interval}`;
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
    summary: `drift: ${counts}; evidence ${evidence.statistic} < ${evidence.threshold} (log scale)`,
    evidence,
  };
}
