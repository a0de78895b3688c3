// Stored series regrouped the way detectors fold them: one entry per interval, treatment (every non-control arm) against control.
import { countExceedances, type LatencyHistogram } from './detectors/tail-exceedance.ts';
import { defaultLatencyBoundsMs, type FlagSeries, type SignalMetric } from './series.ts';

export interface Aggregate {
  count: number;
  sum: number;
  /** Null when some contribution came without squares. */
  sumsq: number | null;
}

export type ArmStats = Record<SignalMetric, Aggregate> & {
  /** Latency observations per upper bound in ms (non-cumulative; Infinity is the overflow). */
  histogram: Map<number, number>;
};

export type Side = 'treatment' | 'control';

export interface Interval {
  start: number;
  width: number;
  treatment: ArmStats;
  control: ArmStats;
}

const empty = (): Aggregate => ({ count: 0, sum: 0, sumsq: 0 });

function emptyArm(): ArmStats {
  return {
    errors: empty(),
    latency: empty(),
    'log-latency': empty(),
    conversions: empty(),
    revenue: empty(),
    exposures: empty(),
    histogram: new Map(),
  };
}

export const sideOf = (arm: string): Side => (arm === 'control' ? 'control' : 'treatment');

export function addAggregate(into: Aggregate, a: Aggregate): void {
  into.count += a.count;
  into.sum += a.sum;
  into.sumsq = into.sumsq === null || a.sumsq === null ? null : into.sumsq + a.sumsq;
}

/** Intervals in time order; a minute bucket and an hour bucket starting together stay separate intervals. */
export function toIntervals(series: FlagSeries): Interval[] {
  const byKey = new Map<string, Interval>();
  const at = (start: number, width: number) => {
    const key = `${start}/${width}`;
    let interval = byKey.get(key);
    if (!interval) {
      interval = { start, width, treatment: emptyArm(), control: emptyArm() };
      byKey.set(key, interval);
    }
    return interval;
  };
  for (const p of series.points) addAggregate(at(p.start, p.width)[sideOf(p.arm)][p.metric], p);
  for (const h of series.histograms) {
    const histogram = at(h.start, h.width)[sideOf(h.arm)].histogram;
    histogram.set(h.le, (histogram.get(h.le) ?? 0) + h.count);
  }
  return [...byKey.values()].sort((a, b) => a.start - b.start || a.width - b.width);
}

/** Units per arm in requests (what senders report) and in SDK exposures, summed over intervals. */
export interface TrafficSums {
  requestsT: number;
  requestsC: number;
  exposuresT: number;
  exposuresC: number;
}

export const emptyTraffic = (): TrafficSums => ({ requestsT: 0, requestsC: 0, exposuresT: 0, exposuresC: 0 });

export function addTraffic(into: TrafficSums, i: Interval): void {
  into.requestsT += i.treatment.errors.count;
  into.requestsC += i.control.errors.count;
  into.exposuresT += i.treatment.exposures.count;
  into.exposuresC += i.control.exposures.count;
}

/** Requests if the sender reported any, else SDK exposures: the units the split and the exposure are counted in. */
export function trafficUnits(t: TrafficSums): { treatment: number; control: number; unit: string } {
  return t.requestsT + t.requestsC > 0
    ? { treatment: t.requestsT, control: t.requestsC, unit: 'requests' }
    : { treatment: t.exposuresT, control: t.exposuresC, unit: 'exposures' };
}

/** Requests if the sender reported any, else SDK exposures, over some intervals. */
export function trafficOf(intervals: readonly Interval[]): {
  treatment: number;
  control: number;
  unit: string;
} {
  const sums = emptyTraffic();
  for (const i of intervals) addTraffic(sums, i);
  return trafficUnits(sums);
}

/** One arm's histogram over some intervals, as ascending bounds and per-bucket counts. */
export function mergedHistogram(intervals: readonly Interval[], side: Side) {
  const merged = new Map<number, number>();
  for (const i of intervals) {
    for (const [le, n] of i[side].histogram) merged.set(le, (merged.get(le) ?? 0) + n);
  }
  return sortedHistogram(merged);
}

/** Counts per upper bound as ascending bounds and per-bucket counts. */
export function sortedHistogram(merged: ReadonlyMap<number, number>) {
  const bounds = [...merged.keys()].sort((a, b) => a - b);
  return { bounds, counts: bounds.map((b) => merged.get(b) ?? 0), cumulative: false as const };
}

/** Observations above `threshold` ms in one arm of one interval; exact when the threshold is a stored bound. */
export function countAbove(stats: ArmStats, threshold: number): number {
  let above = 0;
  for (const [le, n] of stats.histogram) if (le > threshold) above += n;
  return above;
}

export function histogramTotal(stats: ArmStats): number {
  let total = 0;
  for (const n of stats.histogram.values()) total += n;
  return total;
}

const defaultGrid = new Set(defaultLatencyBoundsMs);

/**
 * Every histogram bound the intervals carry, in either arm, ascending: the grid that tells each stored bucket
 * its lower end. Senders' buckets are stored with their empty neighbours; per-request latencies use the
 * default grid, whose bounds are added wherever one of them appears.
 */
export function knownBounds(intervals: readonly Interval[]): number[] {
  const bounds = new Set<number>();
  let usesDefault = false;
  for (const i of intervals) {
    for (const side of [i.treatment, i.control]) {
      for (const le of side.histogram.keys()) {
        bounds.add(le);
        if (defaultGrid.has(le)) usesDefault = true;
      }
    }
  }
  if (usesDefault) for (const le of defaultLatencyBoundsMs) bounds.add(le);
  return [...bounds].sort((a, b) => a - b);
}

/** One arm's histogram of one interval laid on `bounds` (zeros where it has no bucket). */
export function histogramOn(stats: ArmStats, bounds: readonly number[]): LatencyHistogram {
  return { bounds, counts: bounds.map((le) => stats.histogram.get(le) ?? 0), cumulative: false };
}

/**
 * Observations above `limit` ms, as far as the buckets can tell: `certain` counts buckets wholly above it,
 * `possible` adds the bucket that holds it, and `interpolated` splits that bucket linearly (as
 * histogram_quantile does). Requests at 260 ms in a (250, 500] bucket are possibly, not certainly, above 300.
 */
export function exceedancesOf(stats: ArmStats, limit: number, bounds: readonly number[]) {
  let certain = 0;
  let possible = 0;
  let lower = 0;
  for (const le of bounds) {
    const n = stats.histogram.get(le) ?? 0;
    if (lower >= limit) certain += n;
    if (le > limit) possible += n;
    lower = le;
  }
  return { certain, possible, interpolated: countExceedances(histogramOn(stats, bounds), limit).count };
}

/** The bucket (lower, upper] that holds `limit` strictly inside it, if any. */
export function bucketHolding(
  limit: number,
  bounds: readonly number[],
): { lower: number; upper: number } | null {
  let lower = 0;
  for (const le of bounds) {
    if (le > limit) return lower < limit ? { lower, upper: le } : null;
    lower = le;
  }
  return null;
}
