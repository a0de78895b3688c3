// SQL for health signals: accumulating upserts per (flag, arm, metric, minute), series reads, retention with roll-up.
import type { SqlDb } from '../db/sql.ts';
import {
  type FlagSeries,
  type HistogramPoint,
  hourMs,
  maxStoredSegments,
  minuteMs,
  otherSegment,
  type SegmentSeries,
  type SignalMetric,
  type SignalPoint,
} from './series.ts';

/** What one batch adds, bucket by bucket, inside its transaction. */
export interface BatchWriter {
  bucket(
    flag: string,
    start: number,
    metric: SignalMetric,
    arm: string,
    count: number,
    sum: number,
    sumsq: number | null,
    /** The record's segment: also stored under it (see `maxStoredSegments`). */
    segment?: string,
  ): void;
  /** Latency observations in (previous bound, le] ms. */
  histogram(flag: string, start: number, arm: string, le: number, count: number, segment?: string): void;
}

export interface Retention {
  /** Minute buckets older than this are rolled up into hour buckets. */
  rawRetentionMs: number;
  /** Buckets of any width older than this are dropped. */
  retentionMs: number;
}

export type SignalStore = ReturnType<typeof createSignalStore>;

/**
 * The statements over one pair of bucket and histogram tables: the whole population's (keyed by flag) or the
 * segments' (keyed by flag and segment), so both accumulate, read and roll up the same way.
 */
function statementsFor(db: SqlDb, tables: { buckets: string; histograms: string }, segmented: boolean) {
  const { buckets, histograms } = tables;
  const seg = segmented ? 'segment, ' : '';
  const segValue = segmented ? '?, ' : '';
  const upsertBucket = db.prepare(
    `INSERT INTO ${buckets} (flag, start, ${seg}metric, arm, width, count, sum, sumsq) VALUES (?, ?, ${segValue}?, ?, ${minuteMs}, ?, ?, ?)
     ON CONFLICT (flag, start, ${seg}metric, arm, width) DO UPDATE SET
       count = ${buckets}.count + excluded.count, sum = ${buckets}.sum + excluded.sum,
       sumsq = ${buckets}.sumsq + excluded.sumsq`,
  );
  const upsertHistogram = db.prepare(
    `INSERT INTO ${histograms} (flag, start, ${seg}metric, arm, width, le, count) VALUES (?, ?, ${segValue}'latency', ?, ${minuteMs}, ?, ?)
     ON CONFLICT (flag, start, ${seg}metric, arm, width, le) DO UPDATE SET count = ${histograms}.count + excluded.count`,
  );
  const points = db.prepare<[string, number], SignalPoint & { segment?: string }>(
    `SELECT start, width, ${seg}arm, metric, count, sum, sumsq FROM ${buckets}
     WHERE flag = ? AND start >= ? ORDER BY start, metric, arm`,
  );
  const histogramPoints = db.prepare<[string, number], HistogramPoint & { segment?: string }>(
    `SELECT start, width, ${seg}arm, le, count FROM ${histograms}
     WHERE flag = ? AND start >= ? AND metric = 'latency' ORDER BY start, arm, le`,
  );
  // SUM skips NULLs, so an hour keeps a sum of squares only when every minute in it had one.
  const rollUpBuckets = db.prepare(
    `INSERT INTO ${buckets} (flag, start, ${seg}metric, arm, width, count, sum, sumsq)
     SELECT flag, (start / ${hourMs}) * ${hourMs}, ${seg}metric, arm, ${hourMs}, SUM(count), SUM(sum),
       CASE WHEN COUNT(sumsq) = COUNT(*) THEN SUM(sumsq) END
     FROM ${buckets} WHERE width = ${minuteMs} AND start < ?
     GROUP BY flag, start / ${hourMs}, ${seg}metric, arm
     ON CONFLICT (flag, start, ${seg}metric, arm, width) DO UPDATE SET
       count = ${buckets}.count + excluded.count, sum = ${buckets}.sum + excluded.sum,
       sumsq = ${buckets}.sumsq + excluded.sumsq`,
  );
  const rollUpHistograms = db.prepare(
    `INSERT INTO ${histograms} (flag, start, ${seg}metric, arm, width, le, count)
     SELECT flag, (start / ${hourMs}) * ${hourMs}, ${seg}metric, arm, ${hourMs}, le, SUM(count)
     FROM ${histograms} WHERE width = ${minuteMs} AND start < ?
     GROUP BY flag, start / ${hourMs}, ${seg}metric, arm, le
     ON CONFLICT (flag, start, ${seg}metric, arm, width, le) DO UPDATE SET count = ${histograms}.count + excluded.count`,
  );
  const dropRawBuckets = db.prepare(`DELETE FROM ${buckets} WHERE width = ${minuteMs} AND start < ?`);
  const dropRawHistograms = db.prepare(`DELETE FROM ${histograms} WHERE width = ${minuteMs} AND start < ?`);
  const dropOldBuckets = db.prepare(`DELETE FROM ${buckets} WHERE start < ?`);
  const dropOldHistograms = db.prepare(`DELETE FROM ${histograms} WHERE start < ?`);
  return {
    upsertBucket,
    upsertHistogram,
    points,
    histogramPoints,
    /** Whole hours only, so each hour is rolled up once and never split between widths. */
    prune(rawCutoff: number, oldCutoff: number) {
      const rolledUp = rollUpBuckets.run(rawCutoff).changes;
      rollUpHistograms.run(rawCutoff);
      const rawDropped = dropRawBuckets.run(rawCutoff).changes;
      dropRawHistograms.run(rawCutoff);
      const dropped = dropOldBuckets.run(oldCutoff).changes;
      dropOldHistograms.run(oldCutoff);
      return { rolledUp, rawDropped, dropped };
    },
  };
}

export function createSignalStore(db: SqlDb) {
  const whole = statementsFor(db, { buckets: 'signal_buckets', histograms: 'signal_histograms' }, false);
  const segments = statementsFor(
    db,
    { buckets: 'signal_segment_buckets', histograms: 'signal_segment_histograms' },
    true,
  );
  const upsertLate = db.prepare(
    `INSERT INTO signal_late (flag, start, metric, arm, le, count, sum, writes) VALUES (?, ?, ?, ?, ?, ?, ?, 1)
     ON CONFLICT (flag, start, metric, arm, le) DO UPDATE SET
       count = signal_late.count + excluded.count, sum = signal_late.sum + excluded.sum,
       writes = signal_late.writes + 1`,
  );
  const lateSince = db.prepare<[string, number], { late: number | null }>(
    `SELECT SUM(writes) AS late FROM signal_late WHERE flag = ? AND start >= ? AND metric <> 'histogram'`,
  );
  const foldedUntil = db.prepare<[], { flag: string; until: number }>(
    'SELECT flag, MIN(folded_until) AS until FROM fold_state GROUP BY flag',
  );
  const dropOldLate = db.prepare('DELETE FROM signal_late WHERE start < ?');
  const segmentKnown = db.prepare<[string, string], { n: number }>(
    'SELECT 1 AS n FROM signal_segments WHERE flag = ? AND segment = ?',
  );
  const segmentCount = db.prepare<[string], { n: number }>(
    'SELECT COUNT(*) AS n FROM signal_segments WHERE flag = ?',
  );
  const registerSegment = db.prepare(
    'INSERT INTO signal_segments (flag, segment, first_seen) VALUES (?, ?, ?) ON CONFLICT (flag, segment) DO NOTHING',
  );
  const segmentValues = db.prepare<[string], { segment: string }>(
    'SELECT segment FROM signal_segments WHERE flag = ? ORDER BY first_seen, segment',
  );
  const forgetSegments = db.prepare(
    `DELETE FROM signal_segments WHERE first_seen < ? AND NOT EXISTS (
       SELECT 1 FROM signal_segment_buckets b WHERE b.flag = signal_segments.flag AND b.segment = signal_segments.segment)`,
  );

  /** The stored name of a value: itself while the flag has fewer than the cap, else the pooled "(other)". */
  const storedSegment = (flag: string, segment: string, start: number): string => {
    if (segmentKnown.get(flag, segment)) return segment;
    if ((segmentCount.get(flag)?.n ?? 0) >= maxStoredSegments) return otherSegment;
    registerSegment.run(flag, segment, start);
    return segment;
  };

  /**
   * Per flag, the end of the last minute an assessment has taken in (set before it reads): signals for a minute
   * ending at or before it are late. Loaded from the stored fold states, so a restart keeps the line.
   */
  const frozen = new Map(foldedUntil.all().map((r) => [r.flag, r.until]));
  const freeze = (flag: string, until: number): void => {
    if (!(until <= (frozen.get(flag) ?? Number.NEGATIVE_INFINITY))) frozen.set(flag, until);
  };
  // Per flag, how many values this connection stored: an on-demand verdict is good until the count moves.
  const written = new Map<string, number>();
  const late = (flag: string, start: number) => {
    written.set(flag, (written.get(flag) ?? 0) + 1);
    const until = frozen.get(flag);
    return until !== undefined && start + minuteMs <= until;
  };

  const writer: BatchWriter = {
    // A late value is kept apart whole: neither the whole population's buckets nor its segment's take it.
    bucket: (flag, start, metric, arm, count, sum, sumsq, segment) => {
      if (late(flag, start)) {
        upsertLate.run(flag, start, metric, arm, 0, count, sum);
        return;
      }
      whole.upsertBucket.run(flag, start, metric, arm, count, sum, sumsq);
      if (segment === undefined) return;
      const stored = storedSegment(flag, segment, start);
      segments.upsertBucket.run(flag, start, stored, metric, arm, count, sum, sumsq);
    },
    // Empty buckets are stored too: they tell the next bucket up where it starts (limits between bounds).
    histogram: (flag, start, arm, le, count, segment) => {
      if (late(flag, start)) {
        upsertLate.run(flag, start, 'histogram', arm, le, count, 0);
        return;
      }
      whole.upsertHistogram.run(flag, start, arm, le, count);
      if (segment === undefined) return;
      segments.upsertHistogram.run(flag, start, storedSegment(flag, segment, start), arm, le, count);
    },
  };
  const writeBatch = db.transaction(<T>(fill: (w: BatchWriter) => T): T => fill(writer));

  const prune = db.transaction((now: number, retention: Retention) => {
    const rawCutoff = Math.floor((now - retention.rawRetentionMs) / hourMs) * hourMs;
    const oldCutoff = now - retention.retentionMs;
    const pruned = whole.prune(rawCutoff, oldCutoff);
    segments.prune(rawCutoff, oldCutoff);
    forgetSegments.run(oldCutoff);
    dropOldLate.run(oldCutoff);
    return pruned;
  });

  return {
    /**
     * Runs `fill` in one transaction, its writes accumulating into stored buckets: all of the batch is stored,
     * or none of it (a throw rolls back). Committed when this returns.
     */
    writeBatch<T>(fill: (w: BatchWriter) => T): T {
      return writeBatch(fill) as T;
    },
    /** A flag's buckets and latency histograms starting at or after `since`, oldest first. */
    series(flag: string, since: number): FlagSeries {
      return {
        flag,
        since,
        points: whole.points.all(flag, since),
        histograms: whole.histogramPoints.all(flag, since),
      };
    },
    /** A flag's segmented buckets since `since`, and its stored segment values in order of arrival. */
    segmentSeries(flag: string, since: number): SegmentSeries {
      return {
        values: segmentValues.all(flag).map((r) => r.segment),
        points: segments.points.all(flag, since) as SegmentSeries['points'],
        histograms: segments.histogramPoints.all(flag, since) as SegmentSeries['histograms'],
      };
    },
    /**
     * From now on, signals for `flag` in minutes ending at or before `until` are late: stored apart and counted,
     * never added to the buckets an assessment has already folded. Only moves forward.
     */
    freeze,
    /**
     * Moves each line up to what the stored fold states say: a replica that does not lead (so never assesses)
     * learns what the leader has folded for good, and keeps later signals for those minutes apart as late.
     */
    reloadFrozen(): void {
      for (const r of foldedUntil.all()) freeze(r.flag, r.until);
    },
    /** Signal values stored for `flag` through this store since it was created (late ones included). */
    writes(flag: string): number {
      return written.get(flag) ?? 0;
    },
    /** Late signal values for `flag` in minutes starting at or after `since`. */
    late(flag: string, since: number): number {
      return Number(lateSince.get(flag, since)?.late ?? 0);
    },
    /** Rolls minute buckets older than the raw retention into hours and drops everything past retention. */
    prune(now: number, retention: Retention): { rolledUp: number; rawDropped: number; dropped: number } {
      return prune(now, retention);
    },
  };
}
