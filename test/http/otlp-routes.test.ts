import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.ts';
import { decodeMetricsRequest } from '../../src/health/otlp-wire.ts';
import { buildRollgate, fixturePlansDir, makeFlagsDir, testTokens } from '../helpers/rollgate.ts';

const t0 = Date.parse('2026-11-02T10:00:00Z');
const ns = (ms: number) => `${BigInt(ms) * 1_000_000n}`;
const open: Array<{ stop(): Promise<void> }> = [];
afterEach(async () => {
  for (const rg of open.splice(0)) await rg.stop();
});

function setup() {
  const t = buildRollgate({
    flagsDir: makeFlagsDir([path.join(fixturePlansDir, 'checkout.new-flow.yaml')], {
      'search.yaml': `name: search.ranking
description: New ranking
owner: search
type: release
rollout:
  stages: [{ percent: 10 }, { percent: 100 }]
  opentelemetry: { flag: app.experiment, variant: app.bucket }
`,
      'regions.yaml': `name: checkout.regions
description: Checkout, watched per region
owner: payments
type: release
rollout:
  stages: [{ percent: 10 }, { percent: 100 }]
  guardrails: [{ metric: errors, worse: higher, by: region }]
`,
    }),
    clock: manualClock(t0),
  });
  open.push(t.rg);
  const post = (
    body: string | Uint8Array,
    headers: Record<string, string>,
    token: string | null = testTokens.ingest,
  ) =>
    t.rg.app.request('/v1/metrics', {
      method: 'POST',
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      body: body as unknown as BodyInit,
    });
  const stored = () =>
    t.rg.db.prepare<[], { n: number }>('SELECT COALESCE(SUM(count), 0) AS n FROM signal_buckets').get()?.n;
  const requests = () =>
    t.rg.db
      .prepare<[], { n: number }>(
        "SELECT COALESCE(SUM(count), 0) AS n FROM signal_buckets WHERE metric = 'errors'",
      )
      .get()?.n;
  return { ...t, post, stored, requests };
}

/** An OTLP/JSON delta histogram export, as the OpenTelemetry Collector's otlphttp exporter sends it. */
function exportJson(points: Array<{ attrs: Record<string, string | number>; count: number }>) {
  return JSON.stringify({
    resourceMetrics: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }] },
        scopeMetrics: [
          {
            scope: { name: 'http' },
            metrics: [
              {
                name: 'http.server.request.duration',
                unit: 's',
                histogram: {
                  aggregationTemporality: 1,
                  dataPoints: points.map((p) => ({
                    attributes: Object.entries(p.attrs).map(([key, v]) => ({
                      key,
                      value: typeof v === 'number' ? { intValue: String(v) } : { stringValue: v },
                    })),
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

const json = { 'content-type': 'application/json' };
const flag = (variant: string, status = 200) => ({
  'feature_flag.key': 'checkout.new-flow',
  'feature_flag.result.variant': variant,
  'http.response.status_code': status,
});

describe('POST /v1/metrics', () => {
  it('stores flagged points as signals and answers an empty OTLP response', async () => {
    const { post, rg } = setup();
    const res = await post(
      exportJson([
        { attrs: flag('on', 502), count: 4 },
        { attrs: flag('off'), count: 9 },
      ]),
      json,
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});
    const rows = rg.db
      .prepare<[], { arm: string; count: number; sum: number }>(
        "SELECT arm, count, sum FROM signal_buckets WHERE metric = 'errors' ORDER BY arm",
      )
      .all();
    expect(rows).toEqual([
      { arm: 'control', count: 9, sum: 0 },
      { arm: 'treatment', count: 4, sum: 4 },
    ]);
  });

  it('reads the flag and variant from the attribute names a plan configured for itself', async () => {
    const { post, rg } = setup();
    const res = await post(
      exportJson([
        { attrs: { 'app.experiment': 'search.ranking', 'app.bucket': 'treatment' }, count: 6 },
        { attrs: { 'app.experiment': 'search.ranking', 'app.bucket': 'control' }, count: 8 },
        // The same attribute naming another flag is not this plan's: ignored.
        { attrs: { 'app.experiment': 'checkout.new-flow', 'app.bucket': 'control' }, count: 99 },
      ]),
      json,
    );
    expect(await res.json()).toEqual({});
    const rows = rg.db
      .prepare<[], { flag: string; arm: string; count: number }>(
        "SELECT flag, arm, count FROM signal_buckets WHERE metric = 'errors' ORDER BY flag, arm",
      )
      .all();
    expect(rows).toEqual([
      { flag: 'search.ranking', arm: 'control', count: 8 },
      { flag: 'search.ranking', arm: 'treatment', count: 6 },
    ]);
  });

  it('accepts a gzipped body', async () => {
    const { post, stored } = setup();
    const body = gzipSync(exportJson([{ attrs: flag('treatment'), count: 3 }]));
    const res = await post(new Uint8Array(body), { ...json, 'content-encoding': 'gzip' });
    expect(res.status).toBe(200);
    expect(stored()).toBeGreaterThan(0);
  });

  it('refuses points it cannot attribute with an OTLP partial success, and keeps the rest', async () => {
    const { post, stored, requests } = setup();
    const res = await post(
      exportJson([
        { attrs: flag('Control'), count: 2 },
        { attrs: { ...flag('on'), 'feature_flag.key': 'no.such-flag' }, count: 2 },
        { attrs: flag('on'), count: 5 },
        { attrs: { 'http.response.status_code': 200 }, count: 50 },
      ]),
      json,
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      partialSuccess: { rejectedDataPoints: number; errorMessage: string };
    };
    expect(body.partialSuccess.rejectedDataPoints).toBe(2);
    expect(body.partialSuccess.errorMessage).toContain('variant "Control" is not an arm');
    expect(body.partialSuccess.errorMessage).toContain('no.such-flag');
    // Only the 5 attributable requests (each in the errors, latency and log-latency buckets).
    expect(stored()).toBe(15);
    expect(requests()).toBe(5);
  });

  it('answers protobuf with protobuf', async () => {
    const { post } = setup();
    const res = await post(new Uint8Array(), { 'content-type': 'application/x-protobuf' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-protobuf');
    // An empty protobuf message is a valid, empty request.
    expect(decodeMetricsRequest(new Uint8Array(), 'protobuf').resourceMetrics).toEqual([]);
  });

  it('rejects what is not OTLP with a 400 naming the reason, storing nothing', async () => {
    const { post, stored } = setup();
    const cases: Array<[string | Uint8Array, Record<string, string>, string]> = [
      ['{}', { 'content-type': 'text/plain' }, 'content-type'],
      [new Uint8Array([0x08, 0xff]), { 'content-type': 'application/x-protobuf' }, 'not an OTLP'],
      ['{"resourceMetrics": 5}', json, 'resourceMetrics'],
      ['not gzip', { ...json, 'content-encoding': 'gzip' }, 'content-encoding'],
      ['{}', { ...json, 'content-encoding': 'br' }, 'content-encoding'],
    ];
    for (const [body, headers, says] of cases) {
      const res = await post(body, headers);
      expect(res.status).toBe(400);
      const err = (await res.json()) as { error: { code: string; message: string } };
      expect(err.error.code).toBe('BAD_REQUEST');
      expect(err.error.message).toContain(says);
    }
    expect(stored()).toBe(0);
  });

  it('needs an ingest token', async () => {
    const { post } = setup();
    const body = exportJson([{ attrs: flag('on'), count: 1 }]);
    expect((await post(body, json, null)).status).toBe(401);
    expect((await post(body, json, testTokens.client)).status).toBe(403);
  });

  it('takes the segment from the attribute named like by:, and refuses a value that is not one', async () => {
    const { post, rg } = setup();
    const on = (region?: string) => ({
      'feature_flag.key': 'checkout.regions',
      'feature_flag.result.variant': 'on',
      ...(region === undefined ? {} : { region }),
    });
    const res = await post(
      exportJson([
        { attrs: on('eu'), count: 4 },
        { attrs: on('us'), count: 7 },
        { attrs: on(), count: 2 },
        { attrs: on('eu west'), count: 1 },
      ]),
      json,
    );
    const body = (await res.json()) as {
      partialSuccess: { rejectedDataPoints: number; errorMessage: string };
    };
    expect(body.partialSuccess.rejectedDataPoints).toBe(1);
    expect(body.partialSuccess.errorMessage).toContain('region "eu west" is not a segment value');
    const whole = rg.db
      .prepare<[], { n: number }>(
        "SELECT SUM(count) AS n FROM signal_buckets WHERE flag = 'checkout.regions' AND metric = 'errors'",
      )
      .get();
    expect(whole?.n).toBe(13);
    const segments = rg.db
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
