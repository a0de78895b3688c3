// Ingestion speed: records per second through `ingest` against a bare better-sqlite3 insert loop, same schema, same rows.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrate } from '../db/migrate.ts';
import { type Db, openDb } from '../db/open.ts';
import { silentLogger } from '../log.ts';
import { createSignalIngest } from './ingest.ts';
import { minuteMs } from './series.ts';
import type { IntervalRecord } from './signal-schema.ts';

const migrationsDir = fileURLToPath(new URL('../db/migrations', import.meta.url));
const start = Date.parse('2026-11-02T00:00:00Z');

/** One record per flag, arm and minute: every record lands in its own bucket, the worst case for upserts. */
export function preAggregatedBatch(size: number, withLatency: boolean): IntervalRecord[] {
  const flags = Array.from({ length: 20 }, (_, i) => `bench.flag-${i}`);
  const records: IntervalRecord[] = [];
  for (let i = 0; records.length < size; i++) {
    const flag = flags[i % flags.length] as string;
    const minute = Math.floor(i / flags.length);
    for (const arm of ['treatment', 'control']) {
      const requests = 50 + ((i * 7) % 40);
      const record: IntervalRecord = { flag, arm, at: start + minute * minuteMs, requests, errors: i % 3 };
      if (withLatency) {
        const bounds = [5, 10, 25, 50, 100, 250, 500, 1000];
        const buckets = bounds.map((le, k) => ({
          le,
          count: Math.round((requests * (k + 1)) / (bounds.length + 1)),
        }));
        record.latencyMs = {
          count: requests,
          sum: requests * 80,
          buckets: [...buckets, { le: '+Inf', count: requests }],
        };
      }
      records.push(record);
    }
  }
  return records.slice(0, size);
}

function freshDb(dir: string, name: string): Db {
  const db = openDb(path.join(dir, `${name}.db`));
  migrate(db, migrationsDir);
  return db;
}

function timeIt(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** Bare loop: the same number of bucket rows, plain INSERTs of precomputed values, one transaction. */
function bareInsert(db: Db, rows: number): number {
  const insert = db.prepare(
    `INSERT INTO signal_buckets (flag, start, metric, arm, width, count, sum, sumsq) VALUES (?, ?, 'errors', ?, ${minuteMs}, ?, ?, ?)`,
  );
  const values = preAggregatedBatch(rows, false);
  return timeIt(() =>
    db.transaction(() => {
      for (const r of values) insert.run(r.flag, r.at, r.arm, r.requests ?? 0, r.errors ?? 0, r.errors ?? 0);
    })(),
  );
}

export function runIngestBench(size = 200_000, rounds = 3) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rollgate-bench-ingest-'));
  const results: Record<string, number[]> = { ingest: [], ingestWithLatency: [], bare: [] };
  try {
    for (let round = 0; round < rounds; round++) {
      const plain = preAggregatedBatch(size, false);
      const withLatency = preAggregatedBatch(size / 4, true);
      const a = freshDb(dir, `ingest-${round}`);
      const ingestA = createSignalIngest({ db: a, clock: () => start, log: silentLogger });
      results.ingest?.push(size / timeIt(() => ingestA.ingest(plain)));
      const b = freshDb(dir, `latency-${round}`);
      const ingestB = createSignalIngest({ db: b, clock: () => start, log: silentLogger });
      results.ingestWithLatency?.push(withLatency.length / timeIt(() => ingestB.ingest(withLatency)));
      const c = freshDb(dir, `bare-${round}`);
      results.bare?.push(size / bareInsert(c, size));
      for (const db of [a, b, c]) db.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const best = (xs: number[] = []) => Math.round(Math.max(...xs));
  return {
    records: size,
    ingestPerSec: best(results.ingest),
    ingestWithLatencyPerSec: best(results.ingestWithLatency),
    bareInsertPerSec: best(results.bare),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const size = Number(process.argv[2] ?? 200_000);
  const r = runIngestBench(size);
  const fmt = (n: number) => n.toLocaleString('en-US');
  console.log(
    `pre-aggregated batch of ${fmt(r.records)} records, temp-file SQLite (WAL, synchronous=FULL), best of 3`,
  );
  console.log(`  ingest (requests + errors)          ${fmt(r.ingestPerSec)} records/s`);
  console.log(`  ingest (+ 9-bucket latency histogram) ${fmt(r.ingestWithLatencyPerSec)} records/s`);
  console.log(`  bare better-sqlite3 INSERT loop     ${fmt(r.bareInsertPerSec)} rows/s`);
  console.log(`  ingest / bare                       ${(r.ingestPerSec / r.bareInsertPerSec).toFixed(2)}`);
}
