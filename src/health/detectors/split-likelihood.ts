// The per-interval log-likelihood ratio on the treatment share of bad events (DETECTION.md §1), shared by the count test and the drift test.

/** One evaluation interval of a bad-event guardrail: requests and bad events per arm. */
export interface CountInterval {
  /** Treatment requests (or units: users, sessions) in the interval. */
  nT: number;
  nC: number;
  /** Treatment bad events (errors, slow requests, error incidents) in the interval. */
  eT: number;
  eC: number;
}

/** The grid of rate ratios the mixture averages over. */
export const defaultRatios: readonly number[] = [1.25, 1.5, 2, 3, 5, 10];

/**
 * ℓ_k(r) = e_T·ln(p/s) + e_C·ln((1−p)/(1−s)) with p = r·s/(r·s + 1 − s), which simplifies to
 * e_T·ln r − K·ln(1 + (r − 1)·s). Given K bad events, e_T is Binomial(K, s) when treatment is no worse,
 * so exp(ℓ) has expectation at most 1 for every r ≥ 1. An interval with no bad events, or with one arm
 * empty (s ∈ {0, 1}), carries no information and adds 0.
 */
export function shareIncrement(interval: CountInterval, ratio: number): number {
  const { nT, nC, eT, eC } = interval;
  const k = eT + eC;
  const n = nT + nC;
  if (k <= 0 || nT <= 0 || nC <= 0) return 0;
  const s = nT / n;
  return eT * Math.log(ratio) - k * Math.log1p((ratio - 1) * s);
}

/** ln(mean_i exp(x_i)), computed without overflow. */
export function logMeanExp(values: readonly number[]): number {
  let max = Number.NEGATIVE_INFINITY;
  for (const v of values) if (v > max) max = v;
  if (max === Number.NEGATIVE_INFINITY) return max;
  let sum = 0;
  for (const v of values) sum += Math.exp(v - max);
  return max + Math.log(sum / values.length);
}

/** Adds one interval's counts to running totals. */
export function addCounts(a: CountInterval, b: CountInterval): CountInterval {
  return { nT: a.nT + b.nT, nC: a.nC + b.nC, eT: a.eT + b.eT, eC: a.eC + b.eC };
}

export const emptyCounts: CountInterval = { nT: 0, nC: 0, eT: 0, eC: 0 };

/** Observed bad-event rate, or null with no units. */
export function rate(events: number, units: number): number | null {
  return units > 0 ? events / units : null;
}
