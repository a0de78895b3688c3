import path from 'node:path';
import {
  AggregationTemporalityPreference,
  OTLPMetricExporter as JsonExporter,
} from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtoExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.ts';
import { createRollgate } from '../../src/main.ts';
import { fixturePlansDir, makeFlagsDir, testConfig, testTokens } from '../helpers/rollgate.ts';
import { sdkPlansDir } from '../helpers/sdk-server.ts';

let rg: ReturnType<typeof createRollgate>;
let url: string;

beforeAll(async () => {
  const flagsDir = makeFlagsDir([
    path.join(fixturePlansDir, 'checkout.new-flow.yaml'),
    path.join(sdkPlansDir, 'xcheck.p25.yaml'),
    path.join(sdkPlansDir, 'demo.toggle.yaml'),
  ]);
  rg = createRollgate(testConfig({ flagsDir }), { log: silentLogger });
  ({ url } = await rg.start());
});
afterAll(() => rg.stop());

/** A real OpenTelemetry SDK exporting on demand (forceFlush), never on its own timer. */
function sdk(encoding: 'json' | 'protobuf', temporality: 'cumulative' | 'delta') {
  const Exporter = encoding === 'json' ? JsonExporter : ProtoExporter;
  const exporter = new Exporter({
    url: `${url}/v1/metrics`,
    headers: { Authorization: `Bearer ${testTokens.ingest}` },
    compression: CompressionAlgorithm.GZIP,
    temporalityPreference:
      temporality === 'delta'
        ? AggregationTemporalityPreference.DELTA
        : AggregationTemporalityPreference.CUMULATIVE,
  });
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  const duration = provider.getMeter('http-server').createHistogram('http.server.request.duration', {
    unit: 's',
    advice: { explicitBucketBoundaries: [0, 0.005, 0.025, 0.1, 0.5, 2.5] },
  });
  const serve = (n: number, seconds: number, attrs: Record<string, string | number>) => {
    for (let i = 0; i < n; i++) duration.record(seconds, { 'http.request.method': 'GET', ...attrs });
  };
  // forceFlush resolves once Rollgate has answered the export (a refused export shows as missing totals).
  return { serve, flush: () => reader.forceFlush(), shutdown: () => provider.shutdown() };
}

const flagged = (flag: string, variant: string, status = 200) => ({
  'feature_flag.key': flag,
  'feature_flag.result.variant': variant,
  'http.response.status_code': status,
});

function totals(flag: string) {
  const rows = rg.db
    .prepare<[string], { arm: string; requests: number; errors: number }>(
      `SELECT arm, SUM(count) AS requests, SUM(sum) AS errors FROM signal_buckets
       WHERE flag = ? AND metric = 'errors' GROUP BY arm ORDER BY arm`,
    )
    .all(flag);
  return Object.fromEntries(rows.map((r) => [r.arm, { requests: r.requests, errors: r.errors }]));
}

describe('OpenTelemetry JS SDK exporting OTLP/HTTP to Rollgate', () => {
  it('JSON, gzip, cumulative: requests, 5xx errors and latency per arm, each request counted once', async () => {
    const s = sdk('json', 'cumulative');
    s.serve(40, 0.02, flagged('checkout.new-flow', 'off'));
    s.serve(20, 0.02, flagged('checkout.new-flow', 'on'));
    s.serve(5, 0.3, flagged('checkout.new-flow', 'on', 503));
    s.serve(7, 0.02, { 'http.response.status_code': 200 }); // no flag: not ours
    await s.flush();
    expect(totals('checkout.new-flow')).toEqual({
      control: { requests: 40, errors: 0 },
      treatment: { requests: 25, errors: 5 },
    });
    s.serve(10, 0.02, flagged('checkout.new-flow', 'on'));
    await s.flush();
    await s.flush(); // the same cumulative values again add nothing
    expect(totals('checkout.new-flow').treatment).toEqual({ requests: 35, errors: 5 });

    const latency = rg.db
      .prepare<[], { count: number; sum: number }>(
        `SELECT SUM(count) AS count, SUM(sum) AS sum FROM signal_buckets
         WHERE flag = 'checkout.new-flow' AND metric = 'latency' AND arm = 'control'`,
      )
      .get();
    expect(latency?.count).toBe(40);
    expect(latency?.sum).toBeCloseTo(40 * 20, 6);
    const buckets = rg.db
      .prepare<[], { le: number; count: number }>(
        `SELECT le, SUM(count) AS count FROM signal_histograms
         WHERE flag = 'checkout.new-flow' AND arm = 'treatment' GROUP BY le HAVING SUM(count) > 0 ORDER BY le`,
      )
      .all();
    // Seconds became milliseconds; the 0 bound folded away; 30 fast requests, 5 slow ones.
    expect(buckets).toEqual([
      { le: 25, count: 30 },
      { le: 500, count: 5 },
    ]);
    await s.shutdown();
  });

  it('protobuf, gzip, delta: variant names and "disabled" map to arms of a multivariate flag', async () => {
    const s = sdk('protobuf', 'delta');
    s.serve(12, 0.05, flagged('xcheck.p25', 'red'));
    s.serve(3, 0.05, flagged('xcheck.p25', 'red', 500));
    s.serve(30, 0.05, flagged('xcheck.p25', 'disabled'));
    await s.flush();
    s.serve(4, 0.05, flagged('xcheck.p25', 'blue'));
    await s.flush();
    expect(totals('xcheck.p25')).toEqual({
      blue: { requests: 4, errors: 0 },
      control: { requests: 30, errors: 0 },
      red: { requests: 15, errors: 3 },
    });
    await s.shutdown();
  });

  it('a restarted sender (new start time, counts from zero) adds its new requests, not a negative delta', async () => {
    const first = sdk('protobuf', 'cumulative');
    first.serve(10, 0.01, flagged('demo.toggle', 'treatment'));
    await first.flush();
    await first.shutdown();
    const second = sdk('protobuf', 'cumulative');
    second.serve(3, 0.01, flagged('demo.toggle', 'treatment'));
    await second.flush();
    expect(totals('demo.toggle')).toEqual({ treatment: { requests: 13, errors: 0 } });
    await second.shutdown();
  });
});
