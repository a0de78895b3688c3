// npm run bench:replicas — three Rollgate processes on one fresh PostgreSQL database: how fast a change made
// through one reaches the others' SDK streams (p50, p99 over 200 changes), and SDK polls per second across
// three replicas against one. Options: --quick (40 changes, 3 s loads), --changes N, --seconds S.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { openPostgres } from '../../db/postgres.ts';
import { pickLoadGenerator } from '../http/load.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const option = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const changes = option('--changes', quick ? 40 : 200);
const seconds = option('--seconds', quick ? 3 : 10);
const serverUrl = process.env.ROLLGATE_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const root = path.resolve(import.meta.dirname, '../../..');
const admin = randomBytes(16).toString('hex');
const client = randomBytes(16).toString('hex');

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

async function onServer(sql: string) {
  const c = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 2000 });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

const children: ChildProcess[] = [];
async function startReplica(env: Record<string, string>): Promise<string> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (
      await fetch(`${url}/health/ready`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return url;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('a replica did not become ready');
}

/** Resolves with the arrival time of each `unleash-updated` event on this replica's SDK stream. */
async function stream(url: string, onUpdate: (at: number) => void): Promise<AbortController> {
  const abort = new AbortController();
  const res = await fetch(`${url}/api/client/streaming`, {
    headers: { authorization: client },
    signal: abort.signal,
  });
  const reader = res.body?.getReader();
  if (!reader) throw new Error('no stream');
  const decoder = new TextDecoder();
  void (async () => {
    let buffered = '';
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      buffered += decoder.decode(value, { stream: true });
      let end = buffered.indexOf('\n\n');
      while (end >= 0) {
        if (buffered.slice(0, end).includes('event: unleash-updated')) onUpdate(performance.now());
        buffered = buffered.slice(end + 2);
        end = buffered.indexOf('\n\n');
      }
    }
  })();
  return abort;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};

async function main() {
  const name = `rollgate_bench_${randomBytes(4).toString('hex')}`;
  await onServer(`CREATE DATABASE ${name}`);
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  const databaseUrl = u.toString();
  try {
    // The bridge itself: one statement, main thread to PostgreSQL and back.
    const bridge = openPostgres(databaseUrl);
    const one = bridge.prepare<[number], { n: number }>('SELECT ? + 1 AS n');
    for (let i = 0; i < 200; i++) one.get(i);
    const times: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const t = performance.now();
      one.get(i);
      times.push(performance.now() - t);
    }
    bridge.close();
    console.log(
      `bridge round-trip per statement: p50 ${(pct(times, 50) * 1000).toFixed(0)} µs, p99 ${(pct(times, 99) * 1000).toFixed(0)} µs`,
    );

    const flags = fs.mkdtempSync(path.join(os.tmpdir(), 'rollgate-bench-flags-'));
    fs.writeFileSync(
      path.join(flags, 'bench.toggle.yaml'),
      'name: bench.toggle\ndescription: Toggled by the benchmark\nowner: bench\ntype: operational\nenabled: true\n',
    );
    const env = (n: number) => ({
      ROLLGATE_DATABASE_URL: databaseUrl,
      ROLLGATE_FLAGS_DIR: flags,
      ROLLGATE_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'rollgate-bench-data-')),
      ROLLGATE_ADMIN_TOKENS: `bench=${admin}`,
      ROLLGATE_CLIENT_TOKENS: `sdk=${client}`,
      ROLLGATE_SERVICE: 'off',
      ROLLGATE_WATCH: 'false',
      ROLLGATE_LOG_LEVEL: 'error',
      ROLLGATE_REPLICA_ID: `bench-${n}`,
    });
    const urls = [await startReplica(env(1)), await startReplica(env(2)), await startReplica(env(3))];
    const [a, ...others] = urls as [string, ...string[]];

    let waiting: { sent: number; left: number; done: () => void } | undefined;
    const delays: number[] = [];
    const streams = await Promise.all(
      others.map((url) =>
        stream(url, (at) => {
          if (!waiting) return;
          delays.push(at - waiting.sent);
          if (--waiting.left === 0) waiting.done();
        }),
      ),
    );
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < changes; i++) {
      const arrived = new Promise<void>((done) => {
        waiting = { sent: performance.now(), left: others.length, done };
      });
      const verb = i % 2 === 0 ? 'disable' : 'enable';
      const res = await fetch(`${a}/api/admin/flags/bench.toggle/${verb}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: '{}',
      });
      if (!res.ok) throw new Error(`${verb} answered ${res.status}`);
      await Promise.race([
        arrived,
        new Promise((_, no) => setTimeout(() => no(new Error('no update in 5 s')), 5000)),
      ]);
      waiting = undefined;
    }
    for (const s of streams) s.abort();
    console.log(
      `propagation, change sent to replica 1 → streamed by replicas 2 and 3 (${delays.length} arrivals over ${changes} changes): p50 ${pct(delays, 50).toFixed(1)} ms, p99 ${pct(delays, 99).toFixed(1)} ms, max ${Math.max(...delays).toFixed(1)} ms`,
    );

    const load = pickLoadGenerator();
    const poll = (url: string) =>
      load.run({
        url: `${url}/api/client/features`,
        headers: { authorization: client },
        seconds,
        connections: 32,
      });
    const single = await poll(a);
    const spread = await Promise.all(urls.map(poll));
    const total = spread.reduce((s, r) => s + r.requestsPerSec, 0);
    const errors = single.errors + spread.reduce((s, r) => s + r.errors, 0);
    console.log(
      `SDK polls (${load.name}, ${seconds} s, 32 connections per replica), one replica: ${Math.round(single.requestsPerSec)} req/s (p99 ${single.p99Ms.toFixed(1)} ms)`,
    );
    console.log(
      `SDK polls across three replicas: ${Math.round(total)} req/s (${spread.map((r) => Math.round(r.requestsPerSec)).join(' + ')}; ${(total / single.requestsPerSec).toFixed(2)}× one; ${os.cpus().length} cores here, load generators included)${errors ? `; ${errors} errors` : ''}`,
    );
    console.log(
      `load average at the end: ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
  } finally {
    for (const c of children) c.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    await onServer(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

await main();
