// The change-point mixture (DETECTION.md §1, late onsets): evidence that the change turned bad at some interval j, summed over every j with weights fixed in advance, so its false-alarm bound holds over any horizon.

/**
 * Weights over the interval a regression may start at. w_1 = 1 − lateShare is the rollout's start (the
 * cumulative test); the rest is spread as ∝ 1/j up to `kneeIntervals`, then ∝ 1/(j·(1 + ln(j/knee))²), whose
 * sum converges. A change starting at interval j must build ln(1/(α·w_j)) nats: with α = 0.009 (the error
 * guardrail's share of a 1 % release plan) 4.82 from the flip (4.71 for the cumulative test alone), 12.7 after a
 * healthy hour, 18.7 after a day, 21.4 after a week, 22.3 after a fortnight — the price of a bound that holds for
 * any hold length. Σ w_j ≤ 1 holds exactly (the tail past the summed range is bounded by its integral).
 */
export const changePointDefaults = { lateShare: 0.1, kneeIntervals: 60 } as const;

const summedIntervals = 100_000;

const shape = (j: number, knee: number): number =>
  j <= knee ? 1 / j : 1 / (j * (1 + Math.log(j / knee)) ** 2);

/** Σ_{j≥2} shape(j), bounded above: summed to 100,000, then ∫ du/(u(1 + ln(u/knee))²) = 1/(1 + ln(N/knee)). */
function normalizer(knee: number): number {
  let sum = 0;
  for (let j = 2; j <= summedIntervals; j++) sum += shape(j, knee);
  return sum + 1 / (1 + Math.log(summedIntervals / knee));
}

const lateNormalizer = normalizer(changePointDefaults.kneeIntervals);

/** ln w_j for the j-th interval folded (1-based). */
export function logStartWeight(j: number, lateShare: number = changePointDefaults.lateShare): number {
  if (j <= 1) return Math.log1p(-lateShare);
  return Math.log(lateShare) + Math.log(shape(j, changePointDefaults.kneeIntervals) / lateNormalizer);
}

/** ln(e^a + e^b) without overflow. */
export function logAddExp(a: number, b: number): number {
  if (a === Number.NEGATIVE_INFINITY) return b;
  if (b === Number.NEGATIVE_INFINITY) return a;
  const m = Math.max(a, b);
  return m + Math.log(Math.exp(a - m) + Math.exp(b - m));
}

/**
 * One interval folded into ln S, where S_t = Σ_{j≤t} w_j Π_{i=j..t} exp(ℓ_i) (S_0 = 0): S_t = (S_{t−1} + w_t)·exp(ℓ_t),
 * with `logWeight` = ln w_t (logStartWeight of the interval's index, the same for every ratio of a grid).
 * Under no change each exp(ℓ_i) has expectation at most 1, so S_t + Σ_{j>t} w_j is a nonnegative supermartingale
 * starting at Σ w_j ≤ 1, and by Ville's inequality P(ever S_t ≥ 1/α) ≤ α, however long the test runs.
 */
export function advanceChangePoint(logS: number, step: number, logWeight: number): number {
  return logAddExp(logS, logWeight) + step;
}
