import { describe, expect, it } from 'vitest';
import { parseSignalBatch, signalRecordJsonSchema } from '../../src/health/signal-schema.ts';

const now = Date.parse('2026-11-02T10:05:00Z');
const example = {
  flag: 'queue.async-tasks',
  arm: 'treatment',
  at: '2026-11-02T10:00:00Z',
  requests: 51,
  errors: 1,
};

describe('signal record format', () => {
  it('accepts the documented pre-aggregated record exactly as written, bare or wrapped in records', () => {
    for (const body of [[example], { records: [example] }]) {
      const parsed = parseSignalBatch(body, now);
      expect(parsed).toEqual({ ok: true, records: [{ ...example, at: Date.parse(example.at) }] });
    }
  });

  it('accepts per-request outcomes and interval records with histograms, conversions and revenue', () => {
    const parsed = parseSignalBatch(
      [
        {
          flag: 'pricing.dynamic-offers',
          arm: 'price-17',
          userId: 'u1',
          ok: true,
          latencyMs: 12.5,
          conversion: true,
          revenue: 17,
        },
        {
          ...example,
          latencyMs: {
            count: 51,
            sum: 2040,
            buckets: [
              { le: 50, count: 40 },
              { le: 100, count: 50 },
              { le: '+Inf', count: 51 },
            ],
          },
          conversions: 3,
          revenue: 51,
          revenueSquares: 867,
          units: 30,
          exposures: 60,
        },
      ],
      now,
    );
    expect(parsed.ok).toBe(true);
  });

  it('names the index, the field and the reason of the first bad record', () => {
    const body = [example, example, { ...example, errors: 52 }];
    expect(parseSignalBatch(body, now)).toEqual({
      ok: false,
      index: 2,
      path: 'errors',
      reason: 'exceeds requests (51)',
    });
    const buckets = {
      count: 5,
      sum: 50,
      buckets: [
        { le: 10, count: 3 },
        { le: 20, count: 2 },
      ],
    };
    expect(parseSignalBatch([{ ...example, latencyMs: buckets }], now)).toMatchObject({
      ok: false,
      index: 0,
      path: 'latencyMs.buckets[1].count',
      reason: "buckets are cumulative: 2 is below the previous bucket's 3",
    });
    expect(parseSignalBatch([{ ...example, requests: undefined, errors: undefined }], now)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('needs at least one of'),
    });
    expect(parseSignalBatch([{ ...example, at: '2026-11-02T10:00:00' }], now)).toMatchObject({
      ok: false,
      path: 'at',
    });
    expect(parseSignalBatch([{ ...example, extra: 1 }], now)).toMatchObject({ ok: false, index: 0 });
  });

  it('refuses records stamped more than five minutes ahead of the receiver', () => {
    expect(parseSignalBatch([{ ...example, at: '2026-11-02T10:11:00Z' }], now)).toMatchObject({
      ok: false,
      path: 'at',
      reason: 'is more than 5 minutes in the future',
    });
  });

  it('refuses a body that is neither an array nor { records }', () => {
    expect(parseSignalBatch({ record: [] }, now)).toMatchObject({ ok: false, index: null });
  });

  it('publishes a JSON Schema with both record shapes', () => {
    const schema = signalRecordJsonSchema() as {
      anyOf: Array<{ required: string[]; additionalProperties: boolean }>;
    };
    expect(schema.anyOf.map((s) => s.required)).toEqual([
      ['flag', 'arm', 'at'],
      ['flag', 'arm', 'ok'],
    ]);
    expect(schema.anyOf.every((s) => s.additionalProperties === false)).toBe(true);
  });
});
