import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.ts';
import { buildRollgate, fixturePlansDir, makeFlagsDir, testTokens } from '../helpers/rollgate.ts';
import { minuteRecords, seededRandom } from '../helpers/traffic.ts';

const promtool = '/usr/bin/promtool';
const havePromtool = fs.existsSync(promtool);
if (!havePromtool) console.log(`skipped: ${promtool} is not installed (apt-get install prometheus)`);

const t0 = Date.parse('2026-11-02T10:00:00Z');
const open: Array<{ stop(): Promise<void> }> = [];
afterEach(async () => {
  for (const rg of open.splice(0)) await rg.stop();
});

const alertmanagerPayload = JSON.parse(
  fs.readFileSync(path.resolve(import.meta.dirname, '../fixtures/alerts/alertmanager-v4.json'), 'utf8'),
);

/** The value of one series in the exposition text, or undefined when it is absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

async function scenario() {
  const clock = manualClock(t0);
  const t = buildRollgate({
    flagsDir: makeFlagsDir([path.join(fixturePlansDir, 'checkout.new-flow.yaml')]),
    clock,
  });
  open.push(t.rg);
  const { call, rg } = t;
  expect((await call('POST', '/api/admin/flags/checkout.new-flow/rollout/start')).status).toBe(200);
  const records = minuteRecords({
    flag: 'checkout.new-flow',
    at: t0,
    requestsPerMinute: 5000,
    percent: 1,
    controlErrorRate: 0.01,
    treatmentErrorRate: 0.01,
    random: seededRandom(3),
  });
  expect((await call('POST', '/api/signals', { token: testTokens.ingest, body: { records } })).status).toBe(
    200,
  );
  const typo = [{ flag: 'checkout.new-flow', arm: 'Control', at: t0, requests: 1 }];
  expect((await call('POST', '/api/signals', { token: testTokens.ingest, body: typo })).status).toBe(400);
  const impact = {
    appName: 'checkout',
    bucket: { start: new Date(t0).toISOString(), stop: new Date(t0 + 60_000).toISOString(), toggles: {} },
    impactMetrics: [
      {
        name: 'rollgate_requests_total',
        type: 'counter',
        samples: [
          { labels: { appName: 'checkout' }, value: 12 },
          { labels: { flag: 'checkout.new-flow', arm: 'control' }, value: 5 },
        ],
      },
    ],
  };
  expect((await call('POST', '/api/client/metrics', { token: testTokens.client, body: impact })).status).toBe(
    202,
  );
  expect(
    (await rg.app.request('/api/client/features', { headers: { authorization: testTokens.client } })).status,
  ).toBe(200);
  const otlp = {
    resourceMetrics: [
      {
        scopeMetrics: [
          {
            metrics: [
              {
                name: 'http.server.request.duration',
                unit: 's',
                histogram: {
                  aggregationTemporality: 1,
                  dataPoints: [
                    {
                      attributes: [
                        { key: 'feature_flag.key', value: { stringValue: 'checkout.new-flow' } },
                        { key: 'feature_flag.result.variant', value: { stringValue: 'nope' } },
                      ],
                      startTimeUnixNano: String(BigInt(t0) * 1_000_000n),
                      timeUnixNano: String(BigInt(t0 + 1000) * 1_000_000n),
                      count: '3',
                      sum: 0.1,
                      bucketCounts: ['3'],
                      explicitBounds: [],
                    },
                  ],
                },
              },
            ],
          },
        ],
      },
    ],
  };
  expect((await call('POST', '/v1/metrics', { token: testTokens.ingest, body: otlp })).status).toBe(200);
  clock.advance(60_000);
  await rg.scheduler.tick();
  // After the tick: the fixture's CheckoutErrors alert matches this flag and rolls it back.
  await call('POST', '/api/alerts/alertmanager', { token: testTokens.alert, body: alertmanagerPayload });
  const res = await rg.app.request('/metrics');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return res.text();
}

describe('GET /metrics', () => {
  it('reports HTTP, signal intake, unattributed impact metrics, alerts, streams, the scheduler and guardrails', async () => {
    const text = await scenario();
    expect(sample(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(sample(text, 'nodejs_eventloop_lag_seconds')).toBeDefined();
    expect(
      sample(text, 'rollgate_http_request_duration_seconds_count', {
        method: 'GET',
        route: '/api/client/features',
        status: '200',
      }),
    ).toBe(1);
    expect(sample(text, 'rollgate_signals_accepted_total', { source: 'api' })).toBe(2);
    expect(sample(text, 'rollgate_signals_accepted_total', { source: 'unleash' })).toBe(1);
    expect(sample(text, 'rollgate_signals_rejected_total', { source: 'api' })).toBe(1);
    expect(sample(text, 'rollgate_signals_rejected_total', { source: 'otlp' })).toBe(1);
    expect(
      sample(text, 'rollgate_impact_metrics_unattributed_total', { metric: 'rollgate_requests_total' }),
    ).toBe(1);
    expect(
      sample(text, 'rollgate_alert_notifications_total', { source: 'alertmanager', result: 'matched' }),
    ).toBe(1);
    expect(sample(text, 'rollgate_sse_clients')).toBe(0);
    expect(sample(text, 'rollgate_notification_outbox', { state: 'pending' })).toBe(0);
    expect(sample(text, 'rollgate_scheduler_tick_duration_seconds_count')).toBe(1);
    const guardrail = { flag: 'checkout.new-flow', guardrail: 'errors (relative)' };
    expect(sample(text, 'rollgate_guardrail_statistic', guardrail)).toBeTypeOf('number');
    // The count test acts when its log e-value reaches ln(1/α); the plan's one guardrail has all of α = 0.01.
    expect(sample(text, 'rollgate_guardrail_threshold', guardrail)).toBeCloseTo(Math.log(100), 2);
  });

  it.skipIf(!havePromtool)('passes promtool check metrics', async () => {
    const text = await scenario();
    const run = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(run.stdout + run.stderr).toBe('');
    expect(run.status).toBe(0);
    // And promtool does catch a bad exposition: the check can fail.
    const bad = spawnSync(promtool, ['check', 'metrics'], { input: 'no_type_here{ 1\n', encoding: 'utf8' });
    expect(bad.status).not.toBe(0);
  });
});
