// npm run bench:serve — requests/s and latency of GET /api/client/features (200 and 304) from a separate load process.
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../config.ts';
import { createRollgate } from '../main.ts';

const REQUESTS = 20_000;
const WARMUP = 2_000;
const CONCURRENCY = 32;

interface LoadTask {
  url: string;
  token: string;
  ifNoneMatch: string | undefined;
  expect: number;
  requests: number;
}

interface LoadResult {
  requests: number;
  seconds: number;
  p50: number;
  p99: number;
  unexpected: number;
}

/** The load generator: a keep-alive agent and CONCURRENCY request loops, each request timed on its own. */
async function load(task: LoadTask): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const headers: Record<string, string> = { authorization: task.token };
  if (task.ifNoneMatch) headers['if-none-match'] = task.ifNoneMatch;
  const latencies = new Float64Array(task.requests);
  let issued = 0;
  let unexpected = 0;
  const one = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const started = performance.now();
      http
        .get(task.url, { agent, headers }, (res) => {
          res.resume();
          res.on('end', () => {
            latencies[i] = performance.now() - started;
            if (res.statusCode !== task.expect) unexpected += 1;
            resolve();
          });
        })
        .on('error', reject);
    });
  const loop = async () => {
    while (issued < task.requests) await one(issued++);
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, loop));
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort();
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { requests: task.requests, seconds, p50: at(0.5), p99: at(0.99), unexpected };
}

/** Runs one task in a child process, so the generator does not share an event loop with the server. */
function inChild(task: LoadTask): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['--load'], { execArgv: process.execArgv });
    child.once('message', (result) => {
      child.kill();
      resolve(result as LoadResult);
    });
    child.once('error', reject);
    child.send(task);
  });
}

async function main() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rollgate-bench-'));
  const token = `bench-${randomBytes(16).toString('hex')}`;
  const parsed = parseConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    ROLLGATE_FLAGS_DIR: fileURLToPath(new URL('../../flags', import.meta.url)),
    ROLLGATE_DATA_DIR: dataDir,
    ROLLGATE_CLIENT_TOKENS: token,
    ROLLGATE_LOG_LEVEL: 'warn',
    ROLLGATE_WATCH: 'false',
    ROLLGATE_SERVICE: 'off',
  });
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  const rollgate = createRollgate(parsed.config);
  const { url } = await rollgate.start();
  const doc = rollgate.served.current();
  const featuresUrl = `${url}/api/client/features`;
  try {
    const rows: Array<[string, LoadResult]> = [];
    for (const [label, ifNoneMatch, status] of [
      ['200 (full body)', undefined, 200],
      ['304 (If-None-Match)', doc.etag, 304],
    ] as const) {
      const task = { url: featuresUrl, token, ifNoneMatch, expect: status, requests: WARMUP };
      await inChild(task);
      rows.push([label, await inChild({ ...task, requests: REQUESTS })]);
    }
    console.log(
      `GET /api/client/features: ${doc.features.length} flags, ${doc.body.length} bytes, ` +
        `${REQUESTS} requests per row after ${WARMUP} warm-up, concurrency ${CONCURRENCY}, keep-alive, loopback`,
    );
    console.log('| response            |   req/s | p50 ms | p99 ms | unexpected status |');
    console.log('| ------------------- | ------: | -----: | -----: | ----------------: |');
    for (const [label, r] of rows) {
      const rps = Math.round(r.requests / r.seconds);
      console.log(
        `| ${label.padEnd(19)} | ${String(rps).padStart(7)} | ${r.p50.toFixed(2).padStart(6)} | ${r.p99.toFixed(2).padStart(6)} | ${String(r.unexpected).padStart(17)} |`,
      );
    }
  } finally {
    await rollgate.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--load')) {
  process.once('message', async (task) => {
    process.send?.(await load(task as LoadTask));
  });
} else {
  await main();
}
