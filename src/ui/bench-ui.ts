// npm run bench:ui — how long the dashboard takes to render its two pages over a day of minute signals (3 guardrails).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { manualClock } from '../clock.ts';
import { parseConfig } from '../config.ts';
import { silentLogger } from '../log.ts';
import { createRollgate } from '../main.ts';

const MINUTES = 1440;
const RUNS = 30;
const flag = 'queue.async-tasks';

const admin = `admin.${randomBytes(18).toString('base64url')}`;
const ingest = `ingest.${randomBytes(18).toString('base64url')}`;
const parsed = parseConfig({
  ROLLGATE_FLAGS_DIR: fileURLToPath(new URL('../../flags', import.meta.url)),
  ROLLGATE_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'rollgate-bench-ui-')),
  ROLLGATE_ADMIN_TOKENS: admin,
  ROLLGATE_INGEST_TOKENS: ingest,
  ROLLGATE_LOG_LEVEL: 'silent',
  ROLLGATE_SERVICE: 'off',
  ROLLGATE_WATCH: 'false',
});
if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
const clock = manualClock();
const rg = createRollgate(parsed.config, { clock, log: silentLogger });
const call = (
  method: string,
  route: string,
  init: { token?: string; body?: string; type?: string; cookie?: string },
) =>
  Promise.resolve(
    rg.app.request(route, {
      method,
      headers: {
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
        ...(init.type ? { 'content-type': init.type } : {}),
        ...(init.cookie ? { cookie: init.cookie } : {}),
      },
      body: init.body,
    }),
  );

const t0 = clock();
await call('POST', `/api/admin/flags/${flag}/rollout/start`, { token: admin });
const histogram = (n: number) => ({
  count: n,
  sum: n * 40,
  buckets: [
    { le: 25, count: Math.round(n * 0.8) },
    { le: 100, count: Math.round(n * 0.95) },
    { le: 250, count: n },
    { le: '+Inf', count: n },
  ],
});
for (let hour = 0; hour < MINUTES / 60; hour++) {
  const records = [];
  for (let m = hour * 60; m < (hour + 1) * 60; m++) {
    const at = t0 + m * 60_000 + 1000;
    records.push({ flag, arm: 'treatment', at, requests: 20, errors: 0, latencyMs: histogram(20) });
    records.push({ flag, arm: 'control', at, requests: 1980, errors: 6, latencyMs: histogram(1980) });
  }
  clock.set(t0 + (hour + 1) * 3_600_000);
  const res = await call('POST', '/api/signals', {
    token: ingest,
    type: 'application/json',
    body: JSON.stringify({ records }),
  });
  if (res.status !== 200) throw new Error(`signals: ${res.status} ${await res.text()}`);
}
const login = await call('POST', '/ui/login', {
  type: 'application/x-www-form-urlencoded',
  body: `token=${admin}`,
});
const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';

console.log(
  `dashboard render, ${MINUTES} minutes of signals for ${flag}, ${RUNS} runs each (load: ${os.loadavg()[0]?.toFixed(2)})`,
);
for (const route of ['/ui', `/ui/flags/${flag}`, `/ui/flags/${flag}/live`]) {
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    const res = await call('GET', route, { cookie });
    bytes = (await res.text()).length;
    if (res.status !== 200) throw new Error(`${route}: ${res.status}`);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => (times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0).toFixed(1);
  console.log(
    `  ${route.padEnd(36)} p50 ${at(0.5)} ms  p95 ${at(0.95)} ms  ${(bytes / 1024).toFixed(0)} KiB`,
  );
}
await rg.stop();
