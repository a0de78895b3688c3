import { afterEach, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/open.ts';
import { createSignalIngest } from '../../src/health/ingest.ts';
import { parseSignalBatch, type SignalRecord } from '../../src/health/signal-schema.ts';
import { silentLogger } from '../../src/log.ts';
import { bucketRows, histogramRows, openSignalDb, signalDbFile } from '../helpers/signal-db.ts';

const t0 = Date.parse('2026-11-02T10:00:00Z');
const opened: Db[] = [];
afterEach(() => {
  for (const db of opened.splice(0)) if (db.open) db.close();
});

function setup(file = signalDbFile()) {
  const db = openSignalDb(file);
  opened.push(db);
  const ingest = createSignalIngest({ db, clock: () => t0 + 90_000, log: silentLogger });
  return { db, file, ingest };
}

/** Records as POST /api/signals would hand them over: through the schema. */
function records(raw: unknown[]): SignalRecord[] {
  const parsed = parseSignalBatch(raw, Number.POSITIVE_INFINITY);
  if (!parsed.ok) throw new Error(`fixture rejected: ${parsed.reason}`);
  return parsed.records;
}

describe('signal ingestion', () => {
  it('stores a pre-aggregated record as requests and errors in its minute bucket, accumulating repeats', () => {
    const { db, ingest } = setup();
    const rec = {
      flag: 'queue.async-tasks',
      arm: 'treatment',
      at: '2026-11-02T10:00:30Z',
      requests: 51,
      errors: 1,
    };
    expect(ingest.ingest(records([rec]))).toEqual({ accepted: 1, replayed: false });
    ingest.ingest(records([rec, { ...rec, arm: 'control', requests: 949, errors: 4 }]));
    expect(bucketRows(db)).toEqual([
      {
        flag: 'queue.async-tasks',
        start: t0,
        metric: 'errors',
        arm: 'control',
        width: 60_000,
        count: 949,
        sum: 4,
        sumsq: 4,
      },
      {
        flag: 'queue.async-tasks',
        start: t0,
        metric: 'errors',
        arm: 'treatment',
        width: 60_000,
        count: 102,
        sum: 2,
        sumsq: 2,
      },
    ]);
  });

  it('stores a cumulative latency histogram as per-bucket counts with the overflow, and estimates log latency', () => {
    const { db, ingest } = setup();
    const latencyMs = {
      count: 10,
      sum: 1500,
      buckets: [
        { le: 50, count: 4 },
        { le: 100, count: 9 },
      ],
    };
    ingest.ingest(records([{ flag: 'f', arm: 'control', at: t0, requests: 10, latencyMs }]));
    expect(histogramRows(db)).toEqual([
      { arm: 'control', start: t0, width: 60_000, le: 50, count: 4 },
      { arm: 'control', start: t0, width: 60_000, le: 100, count: 5 },
      { arm: 'control', start: t0, width: 60_000, le: Number.POSITIVE_INFINITY, count: 1 },
    ]);
    const rows = bucketRows(db);
    expect(rows.find((r) => r.metric === 'latency')).toMatchObject({ count: 10, sum: 1500, sumsq: null });
    // 4 at 25 ms, 5 at √(50·100) ms, the overflow at what the sum leaves: 1500 − 100 − 353.6 ≈ 1046 ms.
    const logSum =
      4 * Math.log(25) + 5 * Math.log(Math.sqrt(5000)) + Math.log(1500 - 100 - 5 * Math.sqrt(5000));
    expect(rows.find((r) => r.metric === 'log-latency')?.sum).toBeCloseTo(logSum, 9);
  });

  it('folds per-request outcomes into counts, latency, units and per-unit revenue', () => {
    const { db, ingest } = setup();
    ingest.ingest(
      records([
        { flag: 'p', arm: 'price-17', userId: 'a', ok: true, latencyMs: 10, conversion: true, revenue: 17 },
        { flag: 'p', arm: 'price-17', userId: 'a', ok: true, latencyMs: 20, revenue: 17 },
        { flag: 'p', arm: 'price-17', userId: 'b', ok: false, latencyMs: 40 },
        { flag: 'p', arm: 'price-17', ok: true },
      ]),
    );
    const byMetric = Object.fromEntries(bucketRows(db).map((r) => [r.metric, r]));
    // Received at t0 + 90 s without `at`: the 10:01 bucket.
    expect(byMetric.errors).toMatchObject({ start: t0 + 60_000, arm: 'price-17', count: 4, sum: 1 });
    expect(byMetric.latency).toMatchObject({ count: 3, sum: 70, sumsq: 100 + 400 + 1600 });
    expect(byMetric['log-latency']?.sum).toBeCloseTo(Math.log(10 * 20 * 40), 9);
    // Units: a, b and one anonymous request; a converted once and paid 34.
    expect(byMetric.conversions).toMatchObject({ count: 3, sum: 1, sumsq: 1 });
    expect(byMetric.revenue).toMatchObject({ count: 3, sum: 34, sumsq: 34 * 34 });
    expect(histogramRows(db).map((h) => h.count)).toEqual([1, 1, 1]);
  });

  it('keeps "variance unknown" when revenue comes without squares, however it accumulates', () => {
    const { db, ingest } = setup();
    const base = { flag: 'p', arm: 'control', at: t0, units: 10 };
    ingest.ingest(records([{ ...base, revenue: 100, revenueSquares: 2000 }]));
    ingest.ingest(records([{ ...base, revenue: 50 }]));
    ingest.ingest(records([{ ...base, revenue: 10, revenueSquares: 100 }]));
    expect(bucketRows(db)).toMatchObject([{ metric: 'revenue', count: 30, sum: 160, sumsq: null }]);
  });

  it('keeps an acknowledged batch across a restart of the database', () => {
    const first = setup();
    first.ingest.ingest(records([{ flag: 'f', arm: 'treatment', at: t0, requests: 7, errors: 2 }]));
    first.db.close();
    const second = setup(first.file);
    expect(bucketRows(second.db)).toMatchObject([{ flag: 'f', count: 7, sum: 2 }]);
  });
});
