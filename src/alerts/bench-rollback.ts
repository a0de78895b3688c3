// Benchmark: time from an alert's POST to the rollback being visible in the admin API and to a streaming SDK.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { InMemStorageProvider, Unleash, UnleashEvents } from 'unleash-client';
import { parseConfig } from '../config.ts';
import { silentLogger } from '../log.ts';
import { createRollgate } from '../main.ts';

const flag = 'bench.alert-rollback';
const plan = `name: ${flag}
description: Rolled back by an alert on every run
owner: bench
type: release
stickiness: userId
rollout:
  stages: [{ percent: 100 }]
  alerts: [{ match: { alertname: BenchErrors, service: bench } }]
`;

const runs = Number(process.argv.find((a) => a.startsWith('--runs='))?.slice(7) ?? 200);
const token = () => randomBytes(18).toString('base64url');
const tokens = { admin: token(), client: token(), alert: token() };

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rollgate-bench-'));
fs.mkdirSync(path.join(root, 'flags'));
fs.writeFileSync(path.join(root, 'flags', `${flag}.yaml`), plan);
const parsed = parseConfig({
  PORT: '0',
  ROLLGATE_FLAGS_DIR: path.join(root, 'flags'),
  ROLLGATE_DATA_DIR: path.join(root, 'data'),
  ROLLGATE_ADMIN_TOKENS: `bench=${tokens.admin}`,
  ROLLGATE_CLIENT_TOKENS: `bench=${tokens.client}`,
  ROLLGATE_ALERT_TOKENS: `alertmanager=${tokens.alert}`,
  ROLLGATE_WATCH: 'false',
  ROLLGATE_LOG_LEVEL: 'silent',
  ROLLGATE_SERVICE: 'off',
});
if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
const rg = createRollgate(parsed.config, { log: silentLogger });
const { url } = await rg.start();

const request = (method: string, route: string, secret: string, body?: unknown) =>
  fetch(`${url}${route}`, {
    method,
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

const unleash = new Unleash({
  url: `${url}/api/`,
  appName: 'bench',
  customHeaders: { Authorization: tokens.client },
  refreshInterval: 600_000,
  disableMetrics: true,
  storageProvider: new InMemStorageProvider(),
  skipInstanceCountWarning: true,
  experimentalMode: { type: 'streaming' },
});
unleash.on(UnleashEvents.Error, () => {});
await new Promise((resolve) => unleash.once(UnleashEvents.Synchronized, resolve));

/** Resolves (with the time) on the first change after which the SDK serves `on` to the bench user. */
const clientSees = (on: boolean) =>
  new Promise<number>((resolve) => {
    const check = () => {
      if (unleash.isEnabled(flag, { userId: 'bench-user' }) !== on) return;
      unleash.off(UnleashEvents.Changed, check);
      resolve(performance.now());
    };
    unleash.on(UnleashEvents.Changed, check);
  });

const samples = { answered: [] as number[], admin: [] as number[], client: [] as number[] };
const episodeBase = Date.parse('2026-01-01T00:00:00Z');

for (let i = 0; i < runs; i++) {
  const on = clientSees(true);
  const started = await request('POST', `/api/admin/flags/${flag}/rollout/start`, tokens.admin, {});
  if (!started.ok) throw new Error(`start failed: ${started.status} ${await started.text()}`);
  await on;

  // A new firing episode each run; a repeat of the same one would rightly do nothing.
  const payload = {
    version: '4',
    status: 'firing',
    receiver: 'rollgate',
    groupKey: '{}:{alertname="BenchErrors"}',
    alerts: [
      {
        status: 'firing',
        labels: { alertname: 'BenchErrors', service: 'bench' },
        annotations: { summary: 'bench' },
        startsAt: new Date(episodeBase + i * 1000).toISOString(),
        fingerprint: 'bench0000000001',
      },
    ],
  };
  const off = clientSees(false);
  const t0 = performance.now();
  const res = await request('POST', '/api/alerts/alertmanager', tokens.alert, payload);
  await res.arrayBuffer();
  samples.answered.push(performance.now() - t0);
  for (;;) {
    const view = (await (await request('GET', `/api/admin/flags/${flag}`, tokens.admin)).json()) as {
      flag: { phase: string };
    };
    if (view.flag.phase === 'rolled-back') break;
  }
  samples.admin.push(performance.now() - t0);
  samples.client.push((await off) - t0);
}

unleash.destroy();
await rg.stop();
fs.rmSync(root, { recursive: true, force: true });

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
const row = (name: string, values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const f = (n: number) => n.toFixed(2).padStart(8);
  return `${name.padEnd(44)}${f(percentile(sorted, 50))}${f(percentile(sorted, 99))}${f(sorted.at(-1) ?? Number.NaN)}`;
};
console.log(`alert → rollback visible, ${runs} runs on loopback (ms)`);
console.log(`${''.padEnd(44)}${'p50'.padStart(8)}${'p99'.padStart(8)}${'max'.padStart(8)}`);
console.log(row('alert POST answered (rollback committed)', samples.answered));
console.log(row('(a) visible in the admin API', samples.admin));
console.log(row('(b) visible to a streaming unleash-client', samples.client));
