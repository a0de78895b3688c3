// Latency tails (DETECTION.md §3): count requests above a threshold fixed before the rollout, from a histogram, so test 1 can run on the counts.

/**
 * A latency histogram. Bucket i holds observations in (bounds[i−1], bounds[i]], the first bucket starting
 * at 0 (latencies are non-negative), matching Prometheus `le` buckets. `bounds` ascend; the last may be
 * Infinity (`+Inf`). With `cumulative: true`, counts[i] is everything ≤ bounds[i], as Prometheus exposes
 * `_bucket` series; with `false`, counts[i] is the bucket alone.
 */
export interface LatencyHistogram {
  bounds: readonly number[];
  counts: readonly number[];
  cumulative: boolean;
}

/** Per-bucket (non-cumulative) counts. */
export function bucketCounts(h: LatencyHistogram): number[] {
  if (!h.cumulative) return [...h.counts];
  return h.counts.map((c, i) => c - (i > 0 ? (h.counts[i - 1] as number) : 0));
}

export interface Exceedances {
  /** Observations above the threshold (fractional when interpolated). */
  count: number;
  total: number;
  /** True when the threshold sits on a bucket bound, so the count is exact. */
  exact: boolean;
}

/**
 * Observations above `threshold`. Buckets entirely above count whole, entirely at or below count zero.
 * The bucket straddling the threshold is split linearly, assuming values spread evenly inside it (the
 * assumption Prometheus' histogram_quantile makes); a straddled +Inf bucket has no width to split, so it
 * counts whole, which overstates both arms alike. Choose thresholds on bucket bounds (`tailThreshold`)
 * to keep counts exact integers, which is what test 1's guarantee assumes.
 */
export function countExceedances(h: LatencyHistogram, threshold: number): Exceedances {
  const counts = bucketCounts(h);
  let count = 0;
  let total = 0;
  let exact = true;
  for (let i = 0; i < counts.length; i++) {
    const n = counts[i] as number;
    const lower = i > 0 ? (h.bounds[i - 1] as number) : 0;
    const upper = h.bounds[i] as number;
    total += n;
    if (lower >= threshold) count += n;
    else if (upper > threshold) {
      exact = false;
      count += Number.isFinite(upper) ? (n * (upper - threshold)) / (upper - lower) : n;
    }
  }
  return { count, total, exact };
}

/**
 * The threshold for a tail quantile, fixed from control's history before the rollout: the smallest finite
 * bucket bound with at least `quantile` of the observations at or below it, so at most 1 − quantile lie
 * above and counts against it are exact. Null when no finite bound qualifies (the tail lives in +Inf).
 */
export function tailThreshold(history: LatencyHistogram, quantile: number): number | null {
  const counts = bucketCounts(history);
  const total = counts.reduce((a, b) => a + b, 0);
  if (total <= 0) return null;
  let below = 0;
  for (let i = 0; i < counts.length; i++) {
    below += counts[i] as number;
    const bound = history.bounds[i] as number;
    if (Number.isFinite(bound) && below >= quantile * total) return bound;
  }
  return null;
}
