import { describe, expect, it } from 'vitest';
import { createSignalIngest } from '../../src/health/ingest.ts';
import { unleashMetricsToRecords } from '../../src/health/unleash-metrics.ts';
import { silentLogger } from '../../src/log.ts';
import { bucketRows, openSignalDb } from '../helpers/signal-db.ts';

const now = Date.parse('2026-11-02T10:05:00Z');

/** The body unleash-client 6.12.1 posts to /api/client/metrics (Metrics.createMetricsData), dates as JSON strings. */
const payload = {
  appName: 'tasks',
  instanceId: 'tasks-1',
  connectionId: 'c0ffee',
  bucket: {
    start: '2026-11-02T10:01:12.000Z',
    stop: '2026-11-02T10:02:12.000Z',
    toggles: {
      'queue.async-tasks': { yes: 30, no: 970, variants: {} },
      'pricing.dynamic-offers': {
        yes: 90,
        no: 810,
        variants: { 'price-17': 40, 'price-21': 50, disabled: 810 },
      },
      'plain.flag': { yes: 5, no: 0, variants: { disabled: 5 } },
    },
  },
  platformName: 'node',
  platformVersion: '20.19.0',
  yggdrasilVersion: null,
  specVersion: '5.2.0',
  sdkFlavor: null,
  sdkFlavorVersion: null,
  impactMetrics: [
    {
      name: 'rollgate_requests_total',
      help: 'requests',
      type: 'counter',
      samples: [
        {
          labels: { 'queue.async-tasks': 'enabled', appName: 'tasks', environment: 'production' },
          value: 30,
        },
        {
          labels: { 'queue.async-tasks': 'disabled', appName: 'tasks', environment: 'production' },
          value: 970,
        },
        { labels: { flag: 'pricing.dynamic-offers', arm: 'price-17' }, value: 40 },
      ],
    },
    {
      name: 'rollgate_errors_total',
      help: 'errors',
      type: 'counter',
      samples: [
        { labels: { 'queue.async-tasks': 'enabled', appName: 'tasks' }, value: 2 },
        { labels: {}, value: 0 },
      ],
    },
    {
      name: 'rollgate_latency_seconds',
      help: 'latency',
      type: 'histogram',
      samples: [
        {
          labels: { 'queue.async-tasks': 'enabled' },
          count: 30,
          sum: 1.5,
          buckets: [
            { le: 0.05, count: 20 },
            { le: 0.1, count: 29 },
            { le: '+Inf', count: 30 },
          ],
        },
      ],
    },
    { name: 'rollgate_queue_depth', help: 'a gauge', type: 'gauge', samples: [{ labels: {}, value: 3 }] },
    {
      name: 'unrelated_total',
      help: 'ignored',
      type: 'counter',
      samples: [{ labels: { flag: 'x' }, value: 1 }],
    },
  ],
};

describe('Unleash client metrics as signals', () => {
  it('maps exposures per arm, variants as arms, and impact metrics labelled by flag', () => {
    const records = unleashMetricsToRecords(payload, now);
    const at = Date.parse('2026-11-02T10:01:12.000Z');
    expect(records).toEqual(
      expect.arrayContaining([
        {
          flag: 'queue.async-tasks',
          arm: 'treatment',
          at,
          exposures: 30,
          requests: 30,
          errors: 2,
          latencyMs: {
            count: 30,
            sum: 1500,
            buckets: [
              { le: 50, count: 20 },
              { le: 100, count: 29 },
              { le: '+Inf', count: 30 },
            ],
          },
        },
        { flag: 'queue.async-tasks', arm: 'control', at, exposures: 970, requests: 970 },
        { flag: 'pricing.dynamic-offers', arm: 'price-17', at, exposures: 40, requests: 40 },
        { flag: 'pricing.dynamic-offers', arm: 'price-21', at, exposures: 50 },
        { flag: 'pricing.dynamic-offers', arm: 'control', at, exposures: 810 },
        { flag: 'plain.flag', arm: 'treatment', at, exposures: 5 },
      ]),
    );
    expect(records).toHaveLength(6);
  });

  it('stores what it maps through the one ingest path', () => {
    const db = openSignalDb();
    const ingest = createSignalIngest({ db, clock: () => now, log: silentLogger });
    expect(ingest.ingestUnleashMetrics(payload, { appName: 'tasks' })).toMatchObject({
      accepted: 6,
      skipped: 0,
    });
    const errors = bucketRows(db).filter((r) => r.flag === 'queue.async-tasks' && r.metric === 'errors');
    expect(errors.map((r) => [r.arm, r.start, r.count, r.sum])).toEqual([
      ['control', Date.parse('2026-11-02T10:01:00Z'), 970, 0],
      ['treatment', Date.parse('2026-11-02T10:01:00Z'), 30, 2],
    ]);
    db.close();
  });

  it('never throws on a payload the SDK could send, and ignores what it cannot use', () => {
    const db = openSignalDb();
    const ingest = createSignalIngest({ db, clock: () => now, log: silentLogger });
    const odd = [
      null,
      'text',
      [],
      {},
      { bucket: null },
      {
        bucket: {
          start: 'not a date',
          toggles: { 'Bad Name!': { yes: 1, no: 1 }, ok: { yes: 'x', no: -1 } },
        },
      },
      {
        bucket: { toggles: {} },
        impactMetrics: [
          {
            name: 'rollgate_latency_ms',
            type: 'histogram',
            samples: [
              { labels: { flag: 'f', arm: 'treatment' }, count: 2, sum: 1, buckets: [{ le: 5, count: 3 }] },
            ],
          },
        ],
      },
      { impactMetrics: 'nope' },
    ];
    for (const p of odd) expect(ingest.ingestUnleashMetrics(p, {})).toMatchObject({ accepted: 0 });
    expect(bucketRows(db)).toEqual([]);
    db.close();
  });
});
