import { describe, expect, it } from 'vitest';
import { latencyRecord, promqlDuration, renderTemplate } from '../../src/health/promql.ts';

describe('PromQL templates', () => {
  it('substitutes $flag, $arm and $interval, escaping what would end the string', () => {
    const q = renderTemplate('sum(increase(x{flag="$flag",arm="$arm"}[$interval])) / $interval', {
      flag: 'checkout.new-flow',
      arm: 'a"} or vector(1) #\\',
      stepMs: 60_000,
    });
    expect(q).toBe('sum(increase(x{flag="checkout.new-flow",arm="a\\"} or vector(1) #\\\\"}[60s])) / 60s');
    expect(promqlDuration(500)).toBe('500ms');
  });
});

describe('histogram buckets from Prometheus', () => {
  const series = (le: string, v: number) => ({ labels: { le }, values: [[100, v] as [number, number]] });

  it('becomes a cumulative histogram in ms, rounded, non-decreasing, with the sum estimated when absent', () => {
    const h = latencyRecord(
      [series('+Inf', 100.4), series('0.1', 99.6), series('0.05', 90.2), series('0', 0)],
      100,
      's',
      undefined,
    );
    expect(h?.buckets).toEqual([
      { le: 50, count: 90 },
      { le: 100, count: 100 },
      { le: '+Inf', count: 100 },
    ]);
    expect(h?.count).toBe(100);
    // 90 at 25 ms, 10 at 75 ms.
    expect(h?.sum).toBeCloseTo(90 * 25 + 10 * 75);
    expect(latencyRecord([series('+Inf', 10)], 100, 'ms', 2.5)?.sum).toBe(2.5);
  });

  it('is absent without a +Inf bucket or without observations', () => {
    expect(latencyRecord([series('0.1', 5)], 100, 's', undefined)).toBeUndefined();
    expect(latencyRecord([series('+Inf', 0)], 100, 's', undefined)).toBeUndefined();
  });
});
