// Stored signals as assess reads them: the metrics, bucket widths, and the latency histogram bounds.
import { maxSegmentsLimit } from '../plans/schema.ts';

export const signalMetrics = [
  'errors',
  'latency',
  'log-latency',
  'conversions',
  'revenue',
  'exposures',
] as const;
export type SignalMetric = (typeof signalMetrics)[number];

export const minuteMs = 60_000;
export const hourMs = 3_600_000;

/** The minute bucket a record at `at` (ms since the epoch) is stored in. */
export const minuteOf = (at: number): number => Math.floor(at / minuteMs) * minuteMs;

/**
 * One stored aggregate. errors: count = requests, sum = failed requests. conversions: count = units,
 * sum = conversions. latency / log-latency / revenue: count = observations (units for revenue), sum and sum
 * of squares of the value (ms, ln ms, revenue per unit); sumsq null when some sender gave no squares.
 * exposures: count = flag evaluations.
 */
export interface SignalPoint {
  start: number;
  width: number;
  arm: string;
  metric: SignalMetric;
  count: number;
  sum: number;
  sumsq: number | null;
}

/** Latency observations in (previous bound, le] ms of one bucket and arm; le = Infinity is the overflow. */
export interface HistogramPoint {
  start: number;
  width: number;
  arm: string;
  le: number;
  count: number;
}

export interface FlagSeries {
  flag: string;
  /** Points start at or after this time. */
  since: number;
  points: SignalPoint[];
  histograms: HistogramPoint[];
  /** Per-segment copies of the segmented points, read only for plans with a `by:` guardrail. */
  segments?: SegmentSeries;
}

/**
 * Distinct segment values stored per flag; records naming a value past these are stored as `otherSegment`.
 * The plan's `maxSegments` cannot exceed it, so a plan's own values are always stored as themselves.
 */
export const maxStoredSegments = maxSegmentsLimit;
/** The pooled segment: values past a guardrail's `maxSegments` (or past the stored cap) are judged together. */
export const otherSegment = '(other)';

export interface SegmentSeries {
  /** Stored values in order of arrival: the first `maxSegments` get tests of their own. */
  values: string[];
  points: Array<SignalPoint & { segment: string }>;
  histograms: Array<HistogramPoint & { segment: string }>;
}

/**
 * Bounds for per-request latencies: 2^(k/4) ms from 1 ms to 65.5 s, each about 19 % above the previous, so a
 * tail threshold picked among them sits within a few percent of control's true quantile.
 */
export const defaultLatencyBoundsMs: readonly number[] = Array.from({ length: 65 }, (_, k) => 2 ** (k / 4));

/** The default bound a latency falls under; Infinity above the last. */
export function defaultBoundFor(ms: number): number {
  if (ms <= 1) return 1;
  const k = Math.ceil(4 * Math.log2(ms));
  const bound = defaultLatencyBoundsMs[k];
  if (bound === undefined) return Number.POSITIVE_INFINITY;
  // Float rounding of log2 can land one bound too high; step back when the lower one still holds ms.
  const lower = defaultLatencyBoundsMs[k - 1];
  return lower !== undefined && ms <= lower ? lower : bound;
}

/** Logs of latencies below this are taken at this value: a 0 ms measurement is a clock artefact, not -∞. */
export const minLogLatencyMs = 0.01;
