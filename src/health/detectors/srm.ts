// Sample ratio mismatch (DETECTION.md §6): is the observed treatment share consistent with the configured percent?
import type { SrmVerdict } from '../verdict.ts';
import { round } from './detector-verdict.ts';
import { chiSquare1Survival } from './distributions.ts';

export interface SrmOptions {
  /** p-value below which the split is declared broken. */
  pThreshold?: number;
  /** Smallest expected count per arm before the chi-square approximation is trusted (the textbook 5). */
  minExpected?: number;
  /**
   * Smallest relative deviation of the share that counts (0.1 = 10 % off the configured percent). With sticky
   * bucketing, requests cluster by user: which users fall in shifts the request share by a few percent for good,
   * and the request-level chi-square, blind to that, would call it a mismatch once enough requests arrive.
   */
  minRelativeDeviation?: number;
}

/** The split check as the product runs it (assess) and as the benchmark measures it. */
export const productSrmOptions: Required<SrmOptions> = {
  pThreshold: 0.001,
  minExpected: 5,
  minRelativeDeviation: 0.1,
};

/** χ² and its p-value alone, for callers that look every interval and only need the decision. */
export function srmStatistic(units: { treatment: number; control: number }, expectedShare: number) {
  const n = units.treatment + units.control;
  const chiSquare = (units.treatment - n * expectedShare) ** 2 / (n * expectedShare * (1 - expectedShare));
  return { chiSquare, pValue: chiSquare1Survival(chiSquare) };
}

/**
 * Pearson chi-square with one degree of freedom on units per arm against the configured share:
 * χ² = (n_T − N·s)² / (N·s·(1 − s)), p = erfc(√(χ²/2)). A mismatch means the comparison itself cannot
 * be trusted (a bucketing bug, an arm that stops reporting): hold, never promote. This is a fixed-sample
 * test: looked at every interval it false-alarms more often than p, which is why the threshold is 0.001
 * and why a mismatch holds rather than rolls back (the benchmark measures that rate).
 */
export function sampleRatioTest(
  units: { treatment: number; control: number },
  expectedShare: number,
  options: SrmOptions = {},
): SrmVerdict {
  const pThreshold = options.pThreshold ?? 0.001;
  const minExpected = options.minExpected ?? 5;
  const minDeviation = options.minRelativeDeviation ?? 0;
  const n = units.treatment + units.control;
  const expectedT = n * expectedShare;
  const expectedC = n * (1 - expectedShare);
  const observedShare = n > 0 ? units.treatment / n : null;
  const base = {
    treatment: units.treatment,
    control: units.control,
    observedShare: round(observedShare),
    expectedShare,
  };
  if (!(expectedShare > 0 && expectedShare < 1) || Math.min(expectedT, expectedC) < minExpected) {
    return {
      status: 'insufficient-data',
      summary: `split: ${units.treatment}/${n} treatment units, too few to test against ${expectedShare}`,
      evidence: { ...base, chiSquare: null, pValue: null, pThreshold },
    };
  }
  const { chiSquare, pValue } = srmStatistic(units, expectedShare);
  const evidence = { ...base, chiSquare: round(chiSquare), pValue: round(pValue, 3), pThreshold };
  const observed = `observed treatment share ${round(observedShare)} of ${n} units, configured ${expectedShare}`;
  const deviation = observedShare === null ? 0 : Math.abs(observedShare / expectedShare - 1);
  if (pValue < pThreshold && deviation > minDeviation) {
    return {
      status: 'mismatch',
      summary: `split: ${observed}; χ² ${round(chiSquare)}, p ${round(pValue, 3)} < ${pThreshold}`,
      evidence,
    };
  }
  return { status: 'ok', summary: `split: ${observed}; p ${round(pValue, 3)}`, evidence };
}
