// npm run bench:ingest — signal records per second over HTTP (POST /api/signals, batches of 500) beside the bare store.
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../config.ts';
import { migrate } from '../../db/migrate.ts';
import { type Db, openDb } from '../../db/open.ts';
import { createSignalIngest } from '../../health/ingest.ts';
import { minuteMs } from '../../health/series.ts';
import { type IntervalRecord, parseSignalBatch } from '../../health/signal-schema.ts';
import { silentLogger } from '../../log.ts';
import { createRollgate, migrationsDir } from '../../main.ts';
import { createArmIndex } from '../../rollout/arm-index.ts';

const start = Date.parse('2026-11-02T00:00:00Z');
const BATCH = 500;
const CONCURRENCY = 4;
/** The bundled plans: the HTTP path checks every record's flag and arm against them. */
const flagsDir = fileURLToPath(new URL('../../../flags', import.meta.url));
const flags = ['queue.async-tasks', 'schema.ai-model', 'pricing.dynamic-offers'];

/** One record per flag, arm and minute: every record lands in its own bucket, the worst case for upserts. */
export function preAggregatedBatch(size: number, withLatency: boolean): IntervalRecord[] {
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

/** The same records as JSON bodies of BATCH records, as a metrics pipeline would post them. */
const bodiesOf = (records: IntervalRecord[]) =>
  Array.from({ length: Math.ceil(records.length / BATCH) }, (_, i) =>
    JSON.stringify(records.slice(i * BATCH, (i + 1) * BATCH)),
  );

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

/** The client: its own process, so the server's event loop does only the server's work. */
async function post(task: {
  url: string;
  token: string;
  size: number;
}): Promise<{ seconds: number; failed: string[] }> {
  const bodies = bodiesOf(preAggregatedBatch(task.size, false));
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const headers = { authorization: `Bearer ${task.token}`, 'content-type': 'application/json' };
  const failed: string[] = [];
  const one = (body: string) =>
    new Promise<void>((resolve, reject) => {
      const req = http.request(task.url, { method: 'POST', agent, headers }, (res) => {
        let text = '';
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () => {
          if (res.statusCode !== 200) failed.push(`${res.statusCode} ${text.slice(0, 200)}`);
          resolve();
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < bodies.length) await one(bodies[next++] as string);
    }),
  );
  agent.destroy();
  return { seconds: (performance.now() - t0) / 1000, failed };
}

function inChild(task: Parameters<typeof post>[0]): Promise<Awaited<ReturnType<typeof post>>> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['--client'], { execArgv: process.execArgv });
    child.once('message', (result) => {
      child.kill();
      resolve(result as Awaited<ReturnType<typeof post>>);
    });
    child.once('error', reject);
    child.send(task);
  });
}

/** POST /api/signals on a fresh Rollgate (real app, real port, the bundled plans, arm check included). */
async function overHttp(dir: string, size: number, round: number): Promise<number> {
  const token = `i-${randomBytes(16).toString('hex')}`;
  const parsed = parseConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    ROLLGATE_FLAGS_DIR: flagsDir,
    ROLLGATE_DATA_DIR: path.join(dir, `http-${round}`),
    ROLLGATE_INGEST_TOKENS: `bench=${token}`,
    ROLLGATE_LOG_LEVEL: 'warn',
    ROLLGATE_WATCH: 'false',
    ROLLGATE_SERVICE: 'off',
  });
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  const rg = createRollgate(parsed.config);
  const { url } = await rg.start();
  try {
    const { seconds, failed } = await inChild({ url: `${url}/api/signals`, token, size });
    if (failed.length) throw new Error(`${failed.length} batches refused, first: ${failed[0]}`);
    return size / seconds;
  } finally {
    await rg.stop();
  }
}

/**
 * Where a batch's server time goes, step by step on the same bodies: JSON.parse, the zod schema, the arm check
 * (against the real controller, as signal-routes does it), and the store. What is left of the HTTP time is
 * the HTTP layer itself.
 */
function breakdown(dir: string, size: number) {
  const parsed = parseConfig({
    ROLLGATE_FLAGS_DIR: flagsDir,
    ROLLGATE_DATA_DIR: path.join(dir, 'breakdown'),
    ROLLGATE_WATCH: 'false',
  });
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  const rg = createRollgate(parsed.config, { log: silentLogger });
  const arms = createArmIndex(rg.controller);
  const ingest = createSignalIngest({
    db: freshDb(dir, 'breakdown-store'),
    clock: () => start,
    log: silentLogger,
  });
  const steps = { json: 0, schema: 0, arms: 0, store: 0 };
  for (const body of bodiesOf(preAggregatedBatch(size, false))) {
    let value: unknown;
    steps.json += timeIt(() => {
      value = JSON.parse(body);
    });
    let batch: ReturnType<typeof parseSignalBatch> | undefined;
    steps.schema += timeIt(() => {
      batch = parseSignalBatch(value, Date.now());
    });
    if (!batch?.ok) throw new Error(`bench records refused: ${batch?.reason}`);
    const records = batch.records;
    steps.arms += timeIt(() => {
      for (const r of records)
        if (!arms(r.flag)?.includes(r.arm)) throw new Error(`arm ${r.arm} of ${r.flag}`);
    });
    steps.store += timeIt(() => ingest.ingest(records));
  }
  rg.db.close();
  return steps;
}

export async function runIngestBench(size = 200_000, rounds = 3) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rollgate-bench-ingest-'));
  const results: Record<'http' | 'ingest' | 'ingestWithLatency' | 'bare', number[]> = {
    http: [],
    ingest: [],
    ingestWithLatency: [],
    bare: [],
  };
  try {
    for (let round = 0; round < rounds; round++) {
      results.http.push(await overHttp(dir, size, round));
      const a = freshDb(dir, `ingest-${round}`);
      const ingestA = createSignalIngest({ db: a, clock: () => start, log: silentLogger });
      const plain = preAggregatedBatch(size, false);
      results.ingest.push(size / timeIt(() => ingestA.ingest(plain)));
      const b = freshDb(dir, `latency-${round}`);
      const ingestB = createSignalIngest({ db: b, clock: () => start, log: silentLogger });
      const withLatency = preAggregatedBatch(size / 4, true);
      results.ingestWithLatency.push(withLatency.length / timeIt(() => ingestB.ingest(withLatency)));
      const c = freshDb(dir, `bare-${round}`);
      results.bare.push(size / bareInsert(c, size));
      for (const db of [a, b, c]) db.close();
    }
    return { records: size, steps: breakdown(dir, size), ...results };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--client')) {
  process.once('message', async (task) => {
    process.send?.(await post(task as Parameters<typeof post>[0]));
  });
} else if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const size = Number(process.argv[2] ?? 200_000);
  const load = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  const r = await runIngestBench(size);
  const fmt = (xs: number[]) => {
    const sorted = [...xs].sort((x, y) => x - y).map((n) => Math.round(n).toLocaleString('en-US'));
    return `${sorted.at(-1)} records/s (runs: ${sorted.join(', ')})`;
  };
  const best = (xs: number[]) => Math.max(...xs);
  console.log(
    `${r.records.toLocaleString('en-US')} pre-aggregated records, temp-file SQLite (WAL, synchronous=FULL), best of 3; load average before: ${load}`,
  );
  console.log(`  POST /api/signals, ${BATCH} per batch, ${CONCURRENCY} connections  ${fmt(r.http)}`);
  console.log(`  ingest() alone (requests + errors)              ${fmt(r.ingest)}`);
  console.log(`  ingest() (+ 9-bucket latency histogram)         ${fmt(r.ingestWithLatency)}`);
  console.log(`  bare better-sqlite3 INSERT loop                 ${fmt(r.bare)}`);
  console.log(
    `  HTTP / bare ${(best(r.http) / best(r.bare)).toFixed(2)}, ingest() / bare ${(best(r.ingest) / best(r.bare)).toFixed(2)}`,
  );
  const total = Object.values(r.steps).reduce((a, b) => a + b, 0);
  const us = (seconds: number) => `${((seconds / r.records) * 1e6).toFixed(2)} µs`;
  const pct = (seconds: number) => `${((seconds / total) * 100).toFixed(0)} %`;
  console.log(
    `  server work per record, step by step: JSON.parse ${us(r.steps.json)}, schema ${us(r.steps.schema)}, ` +
      `arm check ${us(r.steps.arms)} (${pct(r.steps.arms)} of the steps), store ${us(r.steps.store)}; ` +
      `the best HTTP run took ${us(r.records / best(r.http))} per record`,
  );
}
