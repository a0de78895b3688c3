import fs from 'node:fs';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { createRollgate } from '../../src/main.ts';
import {
  prometheusBinary,
  startPrometheus,
  startRollgateOnPrometheus,
  waitFor,
} from '../helpers/prometheus.ts';
import { makeFlagsDir } from '../helpers/rollgate.ts';

const haveProm = fs.existsSync(prometheusBinary);
if (!haveProm) console.log(`skipped: ${prometheusBinary} is not installed (apt-get install prometheus)`);

/** Requests per second per arm, and the share that fail, per flag: a service's counters as time passes. */
const traffic: Record<string, Record<string, { perSecond: number; errorRate: number }>> = {
  'prom.healthy': {
    treatment: { perSecond: 2000, errorRate: 0.01 },
    control: { perSecond: 2000, errorRate: 0.01 },
  },
  'prom.regress': {
    treatment: { perSecond: 2000, errorRate: 0.05 },
    control: { perSecond: 2000, errorRate: 0.01 },
  },
  'prom.gone': {
    treatment: { perSecond: 2000, errorRate: 0.01 },
    control: { perSecond: 2000, errorRate: 0.01 },
  },
};

/** A small exporter with per-arm request counters and a latency histogram, in the text exposition format. */
function startExporter(): Promise<{ target: string; stop: () => Promise<void> }> {
  const t0 = Date.now();
  const server = http.createServer((_req, res) => {
    const s = (Date.now() - t0) / 1000;
    const lines = ['# TYPE http_requests_total counter'];
    const hist = ['# TYPE http_request_duration_seconds histogram'];
    for (const [flag, arms] of Object.entries(traffic)) {
      for (const [arm, t] of Object.entries(arms)) {
        const total = Math.floor(t.perSecond * s);
        const errors = Math.floor(t.perSecond * t.errorRate * s);
        const l = `flag="${flag}",arm="${arm}"`;
        lines.push(`http_requests_total{${l},code="200"} ${total - errors}`);
        lines.push(`http_requests_total{${l},code="500"} ${errors}`);
        const fast = Math.floor(total * 0.9);
        const mid = Math.floor(total * 0.99);
        hist.push(`http_request_duration_seconds_bucket{${l},le="0.05"} ${fast}`);
        hist.push(`http_request_duration_seconds_bucket{${l},le="0.1"} ${mid}`);
        hist.push(`http_request_duration_seconds_bucket{${l},le="+Inf"} ${total}`);
        hist.push(`http_request_duration_seconds_sum{${l}} ${total * 0.03}`);
        hist.push(`http_request_duration_seconds_count{${l}} ${total}`);
      }
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(`${[...lines, ...hist].join('\n')}\n`);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      resolve({ target: `127.0.0.1:${port}`, stop: () => new Promise((r) => server.close(() => r())) });
    });
  });
}

const plan = (name: string, bake: string) => `name: ${name}
description: Read from Prometheus
owner: tests
type: release
rollout:
  stages:
    - { percent: 50, bake: ${bake} }
    - { percent: 100 }
  source: prometheus
  prometheus:
    requests: sum(increase(http_requests_total{flag="$flag",arm="$arm"}[$interval]))
    errors: sum(increase(http_requests_total{flag="$flag",arm="$arm",code=~"5.."}[$interval]))
    latency: sum by (le) (increase(http_request_duration_seconds_bucket{flag="$flag",arm="$arm"}[$interval]))
  guardrails:
    - { metric: errors, worse: higher }
    - { metric: latency, worse: higher }
`;

let exporter: Awaited<ReturnType<typeof startExporter>>;
let prom: Awaited<ReturnType<typeof startPrometheus>> | undefined;
let rg: ReturnType<typeof createRollgate>;
let admin: Awaited<ReturnType<typeof startRollgateOnPrometheus>>['admin'];

beforeAll(async () => {
  if (!haveProm) return;
  exporter = await startExporter();
  prom = await startPrometheus([exporter.target]);
  const flagsDir = makeFlagsDir([], {
    'healthy.yaml': plan('prom.healthy', '0s'),
    'regress.yaml': plan('prom.regress', '1h'),
    'gone.yaml': plan('prom.gone', '1h'),
    'empty.yaml': plan('prom.empty', '0s'),
  });
  ({ rg, admin } = await startRollgateOnPrometheus(prom.url, flagsDir));
}, 90_000);

afterAll(async () => {
  if (!haveProm) return;
  await rg?.stop();
  await prom?.stop();
  await exporter?.stop();
});

const flag = async (name: string) => (await admin('GET', `flags/${name}`)).flag;

describe.skipIf(!haveProm)('Prometheus as a signal source (real Prometheus scraping a real exporter)', () => {
  it('promotes a healthy rollout, rolls back a 5× treatment error rise, holds on an empty query', async () => {
    for (const name of ['prom.healthy', 'prom.regress', 'prom.empty'])
      await admin('POST', `flags/${name}/rollout/start`);
    const healthy = await waitFor(
      'prom.healthy to complete',
      async () => {
        const f = await flag('prom.healthy');
        return f.phase === 'completed' ? f : undefined;
      },
      90_000,
    );
    expect(healthy.percent).toBe(100);
    const regress = await waitFor(
      'prom.regress to roll back',
      async () => {
        const f = await flag('prom.regress');
        return f.phase === 'rolled-back' ? f : undefined;
      },
      90_000,
    );
    expect(regress.phaseReason).toContain('errors (relative): errors');

    // Its templates select flag="prom.empty", which the exporter never reports.
    const empty = await flag('prom.empty');
    expect(empty.phase).toBe('progressing');
    expect(empty.percent).toBe(50);
    expect(empty.phaseReason).toContain(
      'missing data: prometheus: requests query for treatment returned no data',
    );

    // What was stored came from Prometheus: both arms, with latency buckets converted to milliseconds.
    const bounds = rg.db
      .prepare<[], { le: number }>(
        "SELECT DISTINCT le FROM signal_histograms WHERE flag = 'prom.healthy' ORDER BY le",
      )
      .all()
      .map((r) => r.le);
    expect(bounds).toEqual([50, 100, Number.POSITIVE_INFINITY]);
  }, 200_000);

  it('holds with the Prometheus error in the reason when Prometheus goes away, and does not promote', async () => {
    await admin('POST', 'flags/prom.gone/rollout/start');
    await waitFor('a first read for prom.gone', () =>
      rg.db.prepare("SELECT 1 FROM source_cursors WHERE flag = 'prom.gone'").get() ? true : undefined,
    );
    await prom?.stop();
    const held = await waitFor('prom.gone to hold on the Prometheus error', async () => {
      const f = await flag('prom.gone');
      return f.phaseReason?.includes('missing data: prometheus') ? f : undefined;
    });
    expect(held.phaseReason).toMatch(/query for (treatment|control) failed: .*ECONNREFUSED/);
    expect(held.phase).toBe('progressing');
    expect(held.percent).toBe(50);
  }, 120_000);
});
