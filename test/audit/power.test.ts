// The power audit on purpose-built plans: seeded traffic through the real ingest, assess and reconcile.
import { describe, expect, it } from 'vitest';
import { changedArm, defaultBaseline, powerChecks } from '../../src/audit/power.ts';
import { parsePlanText } from '../../src/plans/load.ts';
import type { Plan } from '../../src/plans/schema.ts';

function plan(yaml: string): Plan {
  const loaded = parsePlanText(yaml, 'test.yaml');
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  return loaded.plan;
}

const head = (name: string) => `
name: ${name}
description: test
owner: qa
type: release
`;

describe('power audit', { timeout: 60_000 }, () => {
  it('fails a stage whose bake promotes before its guardrail could see a 5 % drop in conversions', () => {
    const p = plan(`${head('short.bake')}
rollout:
  stages: [{ percent: 10, bake: 10m }, { percent: 100 }]
  guardrails: [{ metric: conversions, worse: lower }]
  holdback: 2
`);
    const [stage, last] = powerChecks({ plan: p, traffic: 500, trafficSource: '--traffic' });
    expect(stage).toMatchObject({ check: 'power', status: 'fail', subject: 'short.bake' });
    expect(stage?.numbers).toMatchObject({ stage: 1, percent: 10, targetRelative: 0.05, bakeMinutes: 10 });
    // It promotes after its 10-minute bake; the 5 % drop is not caught by then in any seed.
    expect(stage?.numbers.promotionMinutes).toBeGreaterThanOrEqual(10);
    expect(stage?.numbers.promotionMinutes).toBeLessThan(20);
    expect(stage?.numbers.caughtBeforePromotion).toBe('0/3');
    expect(stage?.summary).toMatch(/a 5 % drop in conversions would be promoted before it is caught/);
    // Not caught at all within two hours: a longer bake would not help, more traffic per stage would.
    expect(stage?.numbers.detectionMinutes).toBeNull();
    expect(stage?.summary).toMatch(/not caught within 2h \(median\)/);
    expect(stage?.action).toMatch(/give it a higher percent or more traffic/);
    // Not even a 16-fold larger drop is caught within the bake: too few treatment conversions to warm up.
    expect(stage?.numbers.smallestRelative).toBeNull();
    expect(stage?.summary).toMatch(/no change up to a 80 % drop in conversions is caught within 1\dm/);
    expect(last).toMatchObject({ status: 'pass', numbers: { holdback: 2 } });
  });

  it('passes a stage that has the traffic and bake to catch a doubling of errors, with its detection time', () => {
    const p = plan(`${head('long.bake')}
rollout:
  stages: [{ percent: 50, bake: 30m }, { percent: 100 }]
  guardrails: [{ metric: errors, worse: higher }]
`);
    const [stage, last] = powerChecks({ plan: p, traffic: 2000, trafficSource: '--traffic' });
    expect(stage).toMatchObject({ check: 'power', status: 'pass', action: '' });
    expect(stage?.numbers.caughtBeforePromotion).toBe('3/3');
    expect(stage?.numbers.detectionMinutes).toBeLessThan(30);
    expect(stage?.numbers.promotionMinutes).toBeGreaterThanOrEqual(30);
    expect(stage?.numbers.smallestRelative).toBe(1);
    expect(stage?.summary).toMatch(
      /a 2× rise in errors is caught before the stage could promote: caught after \d+m/,
    );
    // No holdback: after 100 % nothing compares, which the last stage warns about.
    expect(last).toMatchObject({ status: 'warn', numbers: { holdback: 0 } });
  });

  it('is deterministic: the same plan and traffic give the same numbers', () => {
    const p = plan(`${head('same')}
rollout:
  stages: [{ percent: 20, bake: 5m }, { percent: 100 }]
  guardrails: [{ metric: latency, worse: higher }]
`);
    const a = powerChecks({ plan: p, traffic: 300, trafficSource: '--traffic' });
    const b = powerChecks({ plan: p, traffic: 300, trafficSource: '--traffic' });
    expect(a).toEqual(b);
  });

  it('warns instead of guessing when there is no traffic; a stage with no guardrail warns under alert rules and fails alone', () => {
    const watched = plan(`${head('not.running')}
rollout:
  stages: [{ percent: 10, bake: 10m }, { percent: 100 }]
  guardrails: [{ metric: errors, worse: higher }]
`);
    expect(powerChecks({ plan: watched, traffic: null, trafficSource: '--traffic' })).toEqual([
      expect.objectContaining({ status: 'warn', numbers: { traffic: null } }),
    ]);
    const bare = plan(`${head('bare')}
rollout:
  stages: [{ percent: 10, bake: 10m }, { percent: 100 }]
  alerts: [{ match: { alertname: X } }]
`);
    const [stage] = powerChecks({ plan: bare, traffic: 100, trafficSource: '--traffic' });
    expect(stage).toMatchObject({ status: 'warn', numbers: { guardrails: 0, alerts: 1 } });
    const unwatched = plan(`${head('unwatched')}
rollout:
  stages: [{ percent: 10, bake: 10m }, { percent: 100 }]
`);
    const [alone] = powerChecks({ plan: unwatched, traffic: 100, trafficSource: '--traffic' });
    expect(alone).toMatchObject({ status: 'fail', numbers: { guardrails: 0, alerts: 0 } });
  });

  it('simulates the change each guardrail kind guards against', () => {
    const b = defaultBaseline;
    const errors = changedArm({ metric: 'errors', worse: 'higher' }, 1, b);
    expect(errors).toMatchObject({ errorRate: 2 * b.errorRate });
    const slo = changedArm({ metric: 'errors', worse: 'higher', max: 0.02 }, 1, b);
    expect(slo).toMatchObject({ errorRate: 0.03 });
    const conversions = changedArm({ metric: 'conversions', worse: 'lower' }, 1, b);
    expect((conversions as { conversionRate: number }).conversionRate).toBeCloseTo(
      0.95 * b.conversionRate,
      10,
    );
    const latency = changedArm({ metric: 'latency', worse: 'higher', relative: 0.2 }, 1, b);
    expect((latency as { latencyShift: number }).latencyShift).toBeCloseTo(Math.log(1.2), 10);
    expect(changedArm({ metric: 'revenue', worse: 'lower', max: 3 }, 1, b)).toMatch(/not tested/);
  });
});
