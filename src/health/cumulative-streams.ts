// Cumulative OTLP histograms turned into deltas per stream, with sender restarts (start time reset) detected.

/** One histogram reading: counts per explicit bucket (not cumulative across buckets, as OTLP sends them). */
export interface HistogramReading {
  /** Nanoseconds since the epoch as decimal strings, compared exactly. */
  start: string;
  time: string;
  count: number;
  sum: number;
  bucketCounts: number[];
  bounds: number[];
}

/** What one reading contributed since the previous one of its stream, and the nanosecond interval it covers. */
export interface HistogramDelta {
  count: number;
  sum: number;
  bucketCounts: number[];
  bounds: number[];
  from: bigint;
  to: bigint;
}

export type DeltaOutcome =
  | { kind: 'delta'; delta: HistogramDelta }
  /** First reading of a stream that began before we could see it: it only sets the baseline. */
  | { kind: 'baseline' }
  /** Out of order or repeated: nothing new. */
  | { kind: 'stale' };

/** Enough for thousands of service instances × flags × arms × status codes; the least recently seen go first. */
export const defaultMaxStreams = 50_000;

const sameBounds = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Keeps the previous reading per stream, in memory only. After a restart of Rollgate every stream starts
 * again from a baseline, so the one export interval that straddles the restart is lost, never counted twice.
 * A stream whose start time is after we began watching (or after the last eviction) is counted from zero.
 */
export function createCumulativeStreams(opts: { nowNs: () => bigint; maxStreams?: number }) {
  const maxStreams = opts.maxStreams ?? defaultMaxStreams;
  const previous = new Map<string, HistogramReading>();
  // A stream that started after this instant cannot have been seen (and forgotten) by us before.
  let countableAfter = opts.nowNs();

  const remember = (key: string, reading: HistogramReading) => {
    previous.delete(key);
    previous.set(key, reading);
    if (previous.size <= maxStreams) return;
    const oldest = previous.keys().next().value;
    if (oldest !== undefined) previous.delete(oldest);
    countableAfter = opts.nowNs();
  };

  const whole = (r: HistogramReading): DeltaOutcome => ({
    kind: 'delta',
    delta: {
      count: r.count,
      sum: r.sum,
      bucketCounts: r.bucketCounts,
      bounds: r.bounds,
      from: BigInt(r.start),
      to: BigInt(r.time),
    },
  });

  return {
    size: () => previous.size,
    next(key: string, reading: HistogramReading): DeltaOutcome {
      const prev = previous.get(key);
      if (!prev) {
        remember(key, reading);
        return BigInt(reading.start) > countableAfter ? whole(reading) : { kind: 'baseline' };
      }
      if (BigInt(reading.time) <= BigInt(prev.time)) return { kind: 'stale' };
      remember(key, reading);
      // A new start time, or counts that went down, is a restarted sender: it counts from zero again.
      if (reading.start !== prev.start || reading.count < prev.count) return whole(reading);
      if (!sameBounds(reading.bounds, prev.bounds)) return { kind: 'baseline' };
      const bucketCounts = reading.bucketCounts.map((n, i) => n - (prev.bucketCounts[i] ?? 0));
      if (bucketCounts.some((n) => n < 0)) return whole(reading);
      return {
        kind: 'delta',
        delta: {
          count: reading.count - prev.count,
          sum: Math.max(0, reading.sum - prev.sum),
          bucketCounts,
          bounds: reading.bounds,
          from: BigInt(prev.time),
          to: BigInt(reading.time),
        },
      };
    },
  };
}
