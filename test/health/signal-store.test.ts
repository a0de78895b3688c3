import { describe, expect, it } from 'vitest';
import { createSignalIngest } from '../../src/health/ingest.ts';
import { hourMs, minuteMs } from '../../src/health/series.ts';
import type { IntervalRecord } from '../../src/health/signal-schema.ts';
import { silentLogger } from '../../src/log.ts';
import { bucketRows, histogramRows, openSignalDb } from '../helpers/signal-db.ts';

const day0 = Date.parse('2026-11-02T00:00:00Z');

function setup() {
  const db = openSignalDb();
  const ingest = createSignalIngest({ db, clock: () => day0, log: silentLogger });
  return { db, ingest, store: ingest.store };
}

/** One control record a minute from `from` for `minutes`, each 100 requests, 1 error, a 2-bucket histogram. */
function minutes(from: number, count: number, extra: Partial<IntervalRecord> = {}): IntervalRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    flag: 'f',
    arm: 'control',
    at: from + i * minuteMs,
    requests: 100,
    errors: 1,
    latencyMs: {
      count: 100,
      sum: 3000,
      buckets: [
        { le: 20, count: 40 },
        { le: 50, count: 100 },
      ],
    },
    ...extra,
  }));
}

describe('signal store retention', () => {
  it('rolls minute buckets older than the raw retention into hours with the same totals', () => {
    const { db, ingest, store } = setup();
    ingest.ingest([...minutes(day0, 120), ...minutes(day0 + 2 * hourMs + 5 * minuteMs, 10)]);
    const now = day0 + 3 * hourMs;
    const result = store.prune(now, { rawRetentionMs: hourMs, retentionMs: 30 * 24 * hourMs });
    // Three metrics (errors, latency, log-latency) over two whole hours; the 02:05 minutes stay raw.
    expect(result).toEqual({ rolledUp: 6, rawDropped: 360, dropped: 0 });

    const rows = bucketRows(db);
    const hours = rows.filter((r) => r.width === hourMs && r.metric !== 'log-latency');
    expect(hours.map((r) => [r.start, r.metric, r.count, r.sum])).toEqual([
      [day0, 'errors', 6000, 60],
      [day0, 'latency', 6000, 180_000],
      [day0 + hourMs, 'errors', 6000, 60],
      [day0 + hourMs, 'latency', 6000, 180_000],
    ]);
    expect(hours.find((r) => r.metric === 'latency')?.sumsq).toBeNull();
    expect(rows.filter((r) => r.width === minuteMs && r.metric === 'errors')).toHaveLength(10);
    const hourHistograms = histogramRows(db).filter((h) => h.width === hourMs);
    expect(hourHistograms.map((h) => [h.start, h.le, h.count])).toEqual([
      [day0, 20, 2400],
      [day0, 50, 3600],
      [day0 + hourMs, 20, 2400],
      [day0 + hourMs, 50, 3600],
    ]);
  });

  it('adds late minutes to an hour already rolled up, and reads mixed widths back in time order', () => {
    const { ingest, store } = setup();
    ingest.ingest(minutes(day0, 30));
    store.prune(day0 + 3 * hourMs, { rawRetentionMs: hourMs, retentionMs: 30 * 24 * hourMs });
    ingest.ingest(minutes(day0 + 30 * minuteMs, 1));
    ingest.ingest(minutes(day0 + 2 * hourMs + 30 * minuteMs, 1));
    store.prune(day0 + 3 * hourMs, { rawRetentionMs: hourMs, retentionMs: 30 * 24 * hourMs });
    const series = store.series('f', day0);
    const errors = series.points.filter((p) => p.metric === 'errors');
    expect(errors.map((p) => [p.start, p.width, p.count])).toEqual([
      [day0, hourMs, 3100],
      [day0 + 2 * hourMs + 30 * minuteMs, minuteMs, 100],
    ]);
  });

  it('drops buckets of every width past the retention', () => {
    const { db, ingest, store } = setup();
    ingest.ingest([...minutes(day0, 60), ...minutes(day0 + 5 * 24 * hourMs, 1)]);
    const now = day0 + 5 * 24 * hourMs + hourMs;
    store.prune(now, { rawRetentionMs: 2 * 24 * hourMs, retentionMs: 4 * 24 * hourMs });
    expect(bucketRows(db).map((r) => [r.start, r.width, r.metric])).toEqual([
      [day0 + 5 * 24 * hourMs, minuteMs, 'errors'],
      [day0 + 5 * 24 * hourMs, minuteMs, 'latency'],
      [day0 + 5 * 24 * hourMs, minuteMs, 'log-latency'],
    ]);
    expect(histogramRows(db).every((h) => h.start === day0 + 5 * 24 * hourMs)).toBe(true);
  });
});
