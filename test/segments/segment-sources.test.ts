// OpenTelemetry points carry their segment in an attribute named like the plan's by: field.
import { afterEach, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.ts';
import { buildRollgate, makeFlagsDir, testTokens } from '../helpers/rollgate.ts';

const t0 = Date.parse('2026-11-02T10:00:00Z');
const ns = (ms: number) => `${BigInt(ms) * 1_000_000n}`;
const open: Array<{ stop(): Promise<void> }> = [];
afterEach(async () => {
  for (const rg of open.splice(0)) await rg.stop();
});

const plan = `name: checkout.new-flow
description: The new checkout flow
owner: payments
type: release
rollout:
  stages: [{ percent: 10 }, { percent: 100 }]
  guardrails:
    - { metric: errors, worse: higher, by: region }
`;

/** One delta point per entry of http.server.request.duration, as an OTLP/JSON export. */
function exportJson(points: Array<{ attrs: Record<string, string>; count: number }>) {
  const attributes = (attrs: Record<string, string>) =>
    Object.entries(attrs).map(([key, v]) => ({ key, value: { stringValue: v } }));
  return JSON.stringify({
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
                  dataPoints: points.map((p) => ({
                    attributes: attributes(p.attrs),
                    startTimeUnixNano: ns(t0 - 60_000),
                    timeUnixNano: ns(t0),
                    count: String(p.count),
                    sum: p.count * 0.01,
                    bucketCounts: [String(p.count), '0'],
                    explicitBounds: [0.05],
                  })),
                },
              },
            ],
          },
        ],
      },
    ],
  });
}

describe('segments from OpenTelemetry', () => {
  it('takes the segment from the attribute named like by:, and refuses a value that is not one', async () => {
    const t = buildRollgate({ flagsDir: makeFlagsDir([], { 'c.yaml': plan }), clock: manualClock(t0) });
    open.push(t.rg);
    const on = (region?: string) => ({
      'feature_flag.key': 'checkout.new-flow',
      'feature_flag.result.variant': 'on',
      ...(region === undefined ? {} : { region }),
    });
    const res = await t.rg.app.request('/v1/metrics', {
      method: 'POST',
      headers: { authorization: `Bearer ${testTokens.ingest}`, 'content-type': 'application/json' },
      body: exportJson([
        { attrs: on('eu'), count: 4 },
        { attrs: on('us'), count: 7 },
        { attrs: on(), count: 2 },
        { attrs: on('eu west'), count: 1 },
      ]),
    });
    const body = (await res.json()) as {
      partialSuccess: { rejectedDataPoints: number; errorMessage: string };
    };
    expect(body.partialSuccess.rejectedDataPoints).toBe(1);
    expect(body.partialSuccess.errorMessage).toContain('region "eu west" is not a segment value');
    const whole = t.rg.db
      .prepare<[], { n: number }>("SELECT SUM(count) AS n FROM signal_buckets WHERE metric = 'errors'")
      .get();
    expect(whole?.n).toBe(13);
    const segments = t.rg.db
      .prepare<[], { segment: string; count: number }>(
        "SELECT segment, count FROM signal_segment_buckets WHERE metric = 'errors' ORDER BY segment",
      )
      .all();
    expect(segments).toEqual([
      { segment: 'eu', count: 4 },
      { segment: 'us', count: 7 },
    ]);
  });
});
