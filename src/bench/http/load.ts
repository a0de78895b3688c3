// The load generator for the serving benchmark: wrk in its own process, else autocannon through npx.
import { spawn, spawnSync } from 'node:child_process';

export interface LoadOptions {
  url: string;
  headers: Record<string, string>;
  seconds: number;
  connections: number;
}

export interface LoadResult {
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Responses with a status of 400 or more, or socket errors: a row with any is not a measurement. */
  errors: number;
}

export type LoadGenerator = { name: string; run(opts: LoadOptions): Promise<LoadResult> };

/** Pinned so a fallback run is reproducible; fetched into npx's cache only when wrk is missing. */
const AUTOCANNON = 'autocannon@8.0.0';

const unitMs: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };
const toMs = (value: string, unit: string) => Number(value) * (unitMs[unit] ?? Number.NaN);

/** Asynchronous on purpose: the server under test shares this process's event loop. */
function capture(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}: ${err}`)),
    );
  });
}

function headerArgs(headers: Record<string, string>): string[] {
  return Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
}

/** wrk prints a latency distribution with --latency; its numbers carry their own units. */
export function parseWrk(out: string): LoadResult {
  const latency = (q: string) => {
    const m = new RegExp(`^\\s*${q}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(out);
    if (!m) throw new Error(`wrk printed no ${q}% latency:\n${out}`);
    return toMs(m[1] as string, m[2] as string);
  };
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (!rps) throw new Error(`wrk printed no Requests/sec:\n${out}`);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  return {
    requestsPerSec: Number(rps[1]),
    p50Ms: latency('50'),
    p99Ms: latency('99'),
    errors: non2xx + socketErrors,
  };
}

const wrk: LoadGenerator = {
  name: 'wrk (1 thread)',
  async run(opts) {
    const args = [
      '-t1',
      `-c${opts.connections}`,
      `-d${opts.seconds}s`,
      '--latency',
      ...headerArgs(opts.headers),
      opts.url,
    ];
    return parseWrk(await capture('wrk', args));
  },
};

const autocannon: LoadGenerator = {
  name: AUTOCANNON,
  async run(opts) {
    const args = ['--yes', AUTOCANNON, '-j', '-c', String(opts.connections), '-d', String(opts.seconds)];
    const j = JSON.parse(await capture('npx', [...args, ...headerArgs(opts.headers), opts.url])) as {
      requests: { average: number };
      latency: { p50: number; p99: number };
      errors: number;
      '4xx'?: number;
      '5xx'?: number;
    };
    return {
      requestsPerSec: j.requests.average,
      p50Ms: j.latency.p50,
      p99Ms: j.latency.p99,
      errors: j.errors + (j['4xx'] ?? 0) + (j['5xx'] ?? 0),
    };
  },
};

/** wrk where Debian's package is installed (its own process, C, no GC); autocannon otherwise. */
export function pickLoadGenerator(): LoadGenerator {
  const forced = process.env.BENCH_LOAD_GENERATOR;
  if (forced === 'autocannon') return autocannon;
  const found = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  return found.error ? autocannon : wrk;
}
