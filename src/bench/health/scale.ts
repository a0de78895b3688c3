// npm run bench:scale — tick cost against flags and rollout length, SDK polls while 200 flags tick, the admin list, RSS; on the real server, scheduler and assessment thread.
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../config.ts';
import { migrate } from '../../db/migrate.ts';
import { openDb } from '../../db/open.ts';
import { createFlagHealth } from '../../health/flag-health.ts';
import { hourMs, minuteMs } from '../../health/series.ts';
import type { IntervalRecord } from '../../health/signal-schema.ts';
import { createSignalStore } from '../../health/signal-store.ts';
import { createRollgate, migrationsDir } from '../../main.ts';

const quick = process.argv.includes('--quick');
const FLAGS = quick ? 40 : 200;
const DAYS = quick ? 1 : 3;
const TICKS = quick ? 10 : 30;
/** Rollouts by length: most have run for the whole recording, ten for a day, ten for an hour. */
const groups = { '1 h': hourMs, '1 day': 24 * hourMs, [`${DAYS} days`]: DAYS * 24 * hourMs } as const;
const name = (i: number) => `scale.f${i}`;
const lengthOf = (i: number) =>
  i < 10 ? groups['1 h'] : i < 20 ? groups['1 day'] : (groups[`${DAYS} days`] as number);
// Default-grid bounds near the latencies sent (about 60–130 ms), so p95 lands on a stored bound.
const bounds = [2 ** 6, 2 ** 6.5, 2 ** 7, 2 ** 7.5];

const plan = (i: number) => `name: ${name(i)}
description: bench
owner: bench
type: release
rollout:
  stages: [{ percent: 10, bake: 30d }, { percent: 100 }]
  guardrails:
    - { metric: errors, worse: higher }
    - { metric: latency, worse: higher, quantile: 0.95 }
    - { metric: errors, worse: higher, max: 0.05 }
`;

/** One minute of one flag's signals, both arms, as a sender would post them. */
function minuteRecords(i: number, at: number): IntervalRecord[] {
  return (['control', 'treatment'] as const).map((arm) => {
    // Both arms fail alike (1–3 %, cycling by minute) and split 90/10 exactly: healthy rollouts that stay due.
    const requests = arm === 'control' ? 900 : 100;
    const cumulative = [0.3, 0.7, 0.96, 0.995].map((s) => Math.round(s * requests));
    return {
      flag: name(i),
      arm,
      at,
      requests,
      errors: (requests / 100) * (1 + ((at / minuteMs + i) % 3)),
      latencyMs: {
        count: requests,
        sum: requests * 80,
        sumSquares: requests * 7000,
        buckets: [
          ...bounds.map((le, k) => ({ le, count: cumulative[k] as number })),
          { le: '+Inf', count: requests },
        ],
      },
    };
  });
}

/** The recording, written straight into the store's tables in one transaction per flag (what ingest would store). */
function generate(dbFile: string, now: number) {
  const db = openDb(dbFile);
  migrate(db, migrationsDir);
  const bucket = db.prepare(
    `INSERT INTO signal_buckets (flag, start, metric, arm, width, count, sum, sumsq) VALUES (?, ?, ?, ?, ${minuteMs}, ?, ?, ?)`,
  );
  const histogram = db.prepare(
    `INSERT INTO signal_histograms (flag, start, metric, arm, width, le, count) VALUES (?, ?, 'latency', ?, ${minuteMs}, ?, ?)`,
  );
  const from = now - DAYS * 24 * hourMs;
  let rows = 0;
  for (let i = 0; i < FLAGS; i++) {
    db.transaction(() => {
      for (let at = from; at < now; at += minuteMs) {
        for (const r of minuteRecords(i, at)) {
          const n = r.requests ?? 0;
          bucket.run(r.flag, at, 'errors', r.arm, n, r.errors ?? 0, r.errors ?? 0);
          bucket.run(r.flag, at, 'latency', r.arm, n, n * 80, n * 7000);
          bucket.run(r.flag, at, 'log-latency', r.arm, n, n * Math.log(80), n * Math.log(80) ** 2);
          let below = 0;
          for (const b of r.latencyMs?.buckets ?? []) {
            histogram.run(
              r.flag,
              at,
              r.arm,
              b.le === '+Inf' ? Number.POSITIVE_INFINITY : b.le,
              b.count - below,
            );
            below = b.count;
          }
          rows += 3 + (r.latencyMs?.buckets?.length ?? 0);
        }
      }
    })();
  }
  db.close();
  return rows;
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
};
const ms = (x: number) => `${x < 10 ? x.toFixed(2) : x.toFixed(1)} ms`;

/** SDK polls from a process of its own, one connection, back to back, until told to stop. */
function poller(task: { url: string; token: string }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const latencies: number[] = [];
  let stop = false;
  process.once('message', () => {
    stop = true;
  });
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const t0 = performance.now();
      http
        .get(task.url, { agent, headers: { authorization: task.token } }, (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode !== 200) reject(new Error(`poll answered ${res.statusCode}`));
            latencies.push(performance.now() - t0);
            resolve();
          });
        })
        .on('error', reject);
    });
  void (async () => {
    while (!stop) await one();
    process.send?.({ latencies });
  })();
}

async function run() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rollgate-bench-scale-'));
  const flagsDir = path.join(dir, 'flags');
  fs.mkdirSync(flagsDir);
  for (let i = 0; i < FLAGS; i++) fs.writeFileSync(path.join(flagsDir, `f${i}.yaml`), plan(i));
  const admin = `a-${randomBytes(16).toString('hex')}`;
  const client = `c-${randomBytes(16).toString('hex')}`;
  const parsed = parseConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    ROLLGATE_FLAGS_DIR: flagsDir,
    ROLLGATE_DATA_DIR: dir,
    ROLLGATE_ADMIN_TOKENS: `bench=${admin}`,
    ROLLGATE_CLIENT_TOKENS: `bench=${client}`,
    ROLLGATE_LOG_LEVEL: 'warn',
    ROLLGATE_WATCH: 'false',
    ROLLGATE_SERVICE: 'off',
    ROLLGATE_TICK_INTERVAL: '1s',
    // The whole recording stays in minutes: this measures folding, not the roll-up.
    ROLLGATE_SIGNAL_RAW_RETENTION: `${DAYS + 1}d`,
  });
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  const config = parsed.config;
  const end = Math.floor(Date.now() / minuteMs) * minuteMs;
  const g0 = performance.now();
  const rows = generate(config.dbFile, end);
  const generated = (performance.now() - g0) / 1000;

  let now = end;
  const rg = createRollgate(config, { clock: () => now });
  const { url } = await rg.start();
  await rg.scheduler.stop(); // ticks when the bench says
  const rssMb = () => Math.round(process.memoryUsage().rss / 2 ** 20);
  const rssAtStart = rssMb();
  const call = (method: string, p: string) =>
    rg.app.request(p, { method, headers: { authorization: `Bearer ${admin}` } });
  for (let i = 0; i < FLAGS; i++) {
    now = end - lengthOf(i);
    const res = await call('POST', `/api/admin/flags/${name(i)}/rollout/start`);
    if (res.status !== 200) throw new Error(`start ${name(i)}: ${res.status} ${await res.text()}`);
  }
  now = end;
  const enabled = new Set(Array.from({ length: FLAGS }, (_, i) => name(i)));
  const only = async (set: number[]) => {
    const want = new Set(set.map(name));
    for (let i = 0; i < FLAGS; i++) {
      const n = name(i);
      if (want.has(n) === enabled.has(n)) continue;
      await call('POST', `/api/admin/flags/${n}/${want.has(n) ? 'enable' : 'disable'}`);
      if (want.has(n)) enabled.add(n);
      else enabled.delete(n);
    }
  };

  /** One tick a virtual second later: a new minute of signals every 60 ticks is fed first, as senders would. */
  let fed = end;
  const tick = async () => {
    now += 1000;
    if (now - fed >= minuteMs) {
      rg.signals.ingest(Array.from({ length: FLAGS }, (_, i) => minuteRecords(i, fed)).flat());
      fed += minuteMs;
    }
    const elu0 = performance.eventLoopUtilization();
    const t0 = performance.now();
    const report = await rg.scheduler.tick();
    const wall = performance.now() - t0;
    const main = performance.eventLoopUtilization(elu0).active;
    if (report.flags.some((f) => f.error))
      throw new Error(`tick failed: ${report.flags.find((f) => f.error)?.error}`);
    return { wall, main, flags: report.flags.length };
  };
  /** The first tick folds from scratch (no stored folds yet); then ticks every (virtual) second, some closing a minute. */
  const measure = async (set: number[]) => {
    await only(set);
    const first = await tick();
    const walls: number[] = [];
    const mains: number[] = [];
    for (let k = 0; k < TICKS; k++) {
      // Every tick closes a minute here (time runs a minute per tick), the worst case for the fold.
      now += minuteMs - 1000;
      const t = await tick();
      walls.push(t.wall);
      mains.push(t.main);
    }
    return { first, walls, mains, flags: set.length };
  };
  const range = (a: number, b: number) => Array.from({ length: b - a }, (_, k) => a + k);
  const long = range(20, FLAGS);

  const out: string[] = [];
  const row = (label: string, m: Awaited<ReturnType<typeof measure>>) =>
    out.push(
      `  ${label.padEnd(28)} first ${ms(m.first.wall).padStart(9)}   then wall median ${ms(quantile(m.walls, 0.5)).padStart(8)} p99 ${ms(quantile(m.walls, 0.99)).padStart(8)}   main thread median ${ms(quantile(m.mains, 0.5)).padStart(8)} p99 ${ms(quantile(m.mains, 0.99)).padStart(8)}`,
    );
  out.push('tick cost by flags (rollouts of the full recording):');
  row('1 flag', await measure(long.slice(0, 1)));
  row('10 flags', await measure(long.slice(0, 10)));
  row(`${FLAGS} flags (all)`, await measure(range(0, FLAGS)));
  const rssAfterScratch = rssMb();
  out.push('tick cost by rollout length (10 flags each, folds already stored):');
  row('1 h', await measure(range(0, 10)));
  row('1 day', await measure(range(10, 20)));
  row(`${DAYS} days`, await measure(long.slice(10, 20)));

  // SDK polls from another process while all flags tick once a second on the real scheduler loop.
  await only(range(0, FLAGS));
  const child = fork(fileURLToPath(import.meta.url), ['--poller'], { execArgv: process.execArgv });
  child.send({ url: `${url}/api/client/features`, token: client });
  const walls: number[] = [];
  const mains: number[] = [];
  const loadSeconds = quick ? 5 : 15;
  const until = performance.now() + loadSeconds * 1000;
  while (performance.now() < until) {
    const started = performance.now();
    now += minuteMs - 1000;
    const t = await tick();
    walls.push(t.wall);
    mains.push(t.main);
    await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (performance.now() - started))));
  }
  const polled = await new Promise<number[]>((resolve) => {
    child.once('message', (m) => resolve((m as { latencies: number[] }).latencies));
    child.send('stop');
  });
  child.kill();
  out.push(
    `SDK polls (GET /api/client/features, 1 connection, own process) while ${FLAGS} flags tick every second for ${loadSeconds} s: ${polled.length} polls, p50 ${ms(quantile(polled, 0.5))}, p99 ${ms(quantile(polled, 0.99))}, max ${ms(Math.max(...polled))}; ticks meanwhile: main thread median ${ms(quantile(mains, 0.5))}, p99 ${ms(quantile(mains, 0.99))}`,
  );

  const lists: number[] = [];
  for (let k = 0; k < 5; k++) {
    const t0 = performance.now();
    const res = await fetch(`${url}/api/admin/flags`, { headers: { authorization: `Bearer ${admin}` } });
    await res.arrayBuffer();
    lists.push(performance.now() - t0);
  }
  out.push(`GET /api/admin/flags (${FLAGS} flags with verdicts): median ${ms(quantile(lists, 0.5))}`);
  out.push(
    `RSS of the server process (assessment thread included): ${rssMb()} MB (${rssAtStart} MB started, before any tick; ${rssAfterScratch} MB after the ${FLAGS} folds from scratch)`,
  );

  // Before: every tick folded each rollout from scratch; here the same fold on its own connection, per flag.
  const db = openDb(config.dbFile);
  const health = createFlagHealth({ store: createSignalStore(db) });
  out.push(
    'before (each tick folded every rollout from scratch), one flag from scratch on its own connection:',
  );
  for (const [label, i] of [
    ['1 h', 0],
    ['1 day', 10],
    [`${DAYS} days`, 20],
  ] as const) {
    const flag = rg.controller.requireFlag(name(i));
    const times = [0, 1, 2].map(() => {
      const t0 = performance.now();
      health.check(flag, now);
      return performance.now() - t0;
    });
    out.push(
      `  ${label.padEnd(10)} ${ms(quantile(times, 0.5))} a flag, so ${ms(quantile(times, 0.5) * FLAGS)} a tick at ${FLAGS} such flags`,
    );
  }
  db.close();
  await rg.stop();
  fs.rmSync(dir, { recursive: true, force: true });
  return { rows, generated, out };
}

if (process.argv.includes('--poller')) {
  process.once('message', (task) => poller(task as { url: string; token: string }));
} else {
  const load = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  const r = await run();
  console.log(
    `${FLAGS} rollouts (errors relative, latency p95, errors <= 5 %), ${DAYS} days of minute signals each (${r.rows.toLocaleString('en-US')} rows written in ${r.generated.toFixed(1)} s); load average before: ${load}`,
  );
  for (const line of r.out) console.log(line);
}
