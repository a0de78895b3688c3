// Stored series regrouped the way detectors fold them: one entry per interval, treatment (every non-control arm) against control.
import type { FlagSeries, SignalMetric } from './series.ts';

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

/** Requests if the sender reported any, else SDK exposures: the units the split and the exposure are counted in. */
export function trafficOf(intervals: readonly Interval[]): {
  treatment: number;
  control: number;
  unit: string;
} {
  let requests = { treatment: 0, control: 0 };
  let exposures = { treatment: 0, control: 0 };
  for (const i of intervals) {
    requests = {
      treatment: requests.treatment + i.treatment.errors.count,
      control: requests.control + i.control.errors.count,
    };
    exposures = {
      treatment: exposures.treatment + i.treatment.exposures.count,
      control: exposures.control + i.control.exposures.count,
    };
  }
  return requests.treatment + requests.control > 0
    ? { ...requests, unit: 'requests' }
    : { ...exposures, unit: 'exposures' };
}

/** One arm's histogram over some intervals, as ascending bounds and per-bucket counts. */
export function mergedHistogram(intervals: readonly Interval[], side: Side) {
  const merged = new Map<number, number>();
  for (const i of intervals) {
    for (const [le, n] of i[side].histogram) merged.set(le, (merged.get(le) ?? 0) + n);
  }
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
