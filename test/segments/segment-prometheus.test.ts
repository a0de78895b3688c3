// A Prometheus-sourced guardrail split by region: a real Prometheus scraping a real exporter, queried `sum by (region)`.
import fs from 'node:fs';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  prometheusBinary,
  startPrometheus,
  startRollgateOnPrometheus,
  waitFor,
} from '../helpers/prometheus.ts';
import { makeFlagsDir } from '../helpers/rollgate.ts';

const haveProm = fs.existsSync(prometheusBinary);

/** Requests per second per region and arm, and the share that fail: eu's treatment fails five times as often. */
const traffic = [
  { region: 'us', arm: 'treatment', perSecond: 2000, errorRate: 0.01 },
  { region: 'us', arm: 'control', perSecond: 2000, errorRate: 0.01 },
  { region: 'eu', arm: 'treatment', perSecond: 150, errorRate: 0.05 },
  { region: 'eu', arm: 'control', perSecond: 150, errorRate: 0.01 },
];

function startExporter(): Promise<{ target: string; stop: () => Promise<void> }> {
  const t0 = Date.now();
  const server = http.createServer((_req, res) => {
    const s = (Date.now() - t0) / 1000;
    const lines = ['# TYPE http_requests_total counter'];
    for (const t of traffic) {
      const total = Math.floor(t.perSecond * s);
      const errors = Math.floor(t.perSecond * t.errorRate * s);
      const l = `flag="prom.regions",arm="${t.arm}",region="${t.region}"`;
      lines.push(`http_requests_total{${l},code="200"} ${total - errors}`);
      lines.push(`http_requests_total{${l},code="500"} ${errors}`);
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(`${lines.join('\n')}\n`);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      resolve({ target: `127.0.0.1:${port}`, stop: () => new Promise((r) => server.close(() => r())) });
    });
  });
}

const plan = `name: prom.regions
description: Read per region from Prometheus
owner: tests
type: release
rollout:
  stages:
    - { percent: 50, bake: 1h }
    - { percent: 100 }
  source: prometheus
  prometheus:
    requests: sum by (region) (increase(http_requests_total{flag="$flag",arm="$arm"}[$interval]))
    errors: sum by (region) (increase(http_requests_total{flag="$flag",arm="$arm",code=~"5.."}[$interval]))
  guardrails:
    - { metric: errors, worse: higher, by: region }
`;

let exporter: Awaited<ReturnType<typeof startExporter>>;
let prom: Awaited<ReturnType<typeof startPrometheus>> | undefined;
let started: Awaited<ReturnType<typeof startRollgateOnPrometheus>> | undefined;

beforeAll(async () => {
  if (!haveProm) return;
  exporter = await startExporter();
  prom = await startPrometheus([exporter.target]);
  started = await startRollgateOnPrometheus(prom.url, makeFlagsDir([], { 'regions.yaml': plan }));
}, 90_000);

afterAll(async () => {
  if (!haveProm) return;
  await started?.rg.stop();
  await prom?.stop();
  await exporter?.stop();
});

describe.skipIf(!haveProm)('segments from Prometheus', () => {
  it('reads each region from a label named like by: and rolls back naming eu', async () => {
    const { rg, admin } = started as NonNullable<typeof started>;
    await admin('POST', 'flags/prom.regions/rollout/start');
    const rolledBack = await waitFor(
      'prom.regions to roll back',
      async () => {
        const f = (await admin('GET', 'flags/prom.regions')).flag;
        return f.phase === 'rolled-back' ? f : undefined;
      },
      90_000,
    );
    expect(rolledBack.phaseReason).toMatch(/^errors \(relative\) in region=eu: /);
    const segments = rg.db
      .prepare<[], { segment: string }>(
        "SELECT DISTINCT segment FROM signal_segment_buckets WHERE flag = 'prom.regions' ORDER BY segment",
      )
      .all()
      .map((r) => r.segment);
    expect(segments).toEqual(['eu', 'us']);
  }, 120_000);
});
