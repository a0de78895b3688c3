// The power audit on purpose-built plans: seeded traffic through the real ingest, assess and reconcile.
import { describe, expect, it } from 'vitest';
import { changedArm, defaultBaseline, powerChecks, storedSegments } from '../../src/audit/power.ts';
import { createSignalIngest } from '../../src/health/ingest.ts';
import { minuteMs } from '../../src/health/series.ts';
import { silentLogger } from '../../src/log.ts';
import { parsePlanText } from '../../src/plans/load.ts';
import type { Plan } from '../../src/plans/schema.ts';
import { openSignalDb } from '../helpers/signal-db.ts';

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

  it('simulates a by: guardrail per segment: a change in one of its maxSegments equal segments is caught later than over everyone', () => {
    const rollout = (guardrail: string) =>
      plan(`${head('split')}
rollout:
  stages: [{ percent: 50, bake: 30m }, { percent: 100 }]
  guardrails: [${guardrail}]
  holdback: 2
`);
    const [whole] = powerChecks({
      plan: rollout('{ metric: errors, worse: higher }'),
      traffic: 2000,
      trafficSource: '--traffic',
    });
    const [split] = powerChecks({
      plan: rollout('{ metric: errors, worse: higher, by: region, maxSegments: 4 }'),
      traffic: 2000,
      trafficSource: '--traffic',
    });
    // Over everyone the doubling shows within minutes; in a quarter of the traffic, judged by the whole
    // population (diluted to 1.25×) and that segment's own test (a tenth of the budget), it takes far longer.
    expect(whole).toMatchObject({ status: 'pass', numbers: { caughtBeforePromotion: '3/3' } });
    expect(whole?.numbers.segment).toBeUndefined();
    expect(split?.numbers).toMatchObject({
      segment: 'region=segment-1',
      segmentShare: 0.25,
      segmentSource: 'no segment traffic stored: an equal split over maxSegments 4',
      promotionMinutes: 30,
    });
    expect(split?.status).toBe('fail');
    expect(Number(split?.numbers.detectionMinutes)).toBeGreaterThan(30);
    expect(Number(split?.numbers.detectionMinutes)).toBeGreaterThan(
      3 * Number(whole?.numbers.detectionMinutes),
    );
    expect(split?.summary).toMatch(
      /a 2× rise in errors in region=segment-1 only \(25 % of traffic; no segment traffic stored: an equal split over maxSegments 4\) would be promoted before it is caught/,
    );
  });

  it('takes the split from stored control traffic, puts the change in the smallest segment with a test of its own, and holds under requireEachSegment', () => {
    const db = openSignalDb();
    const t0 = Date.parse('2026-11-02T00:00:00Z');
    const ingest = createSignalIngest({ db, clock: () => t0 + 60 * minuteMs, log: silentLogger });
    // Control's requests a minute per region: 900 with a segment, and 100 more without (whole population only).
    const perMinute = { us: 540, eu: 270, ap: 90 };
    ingest.ingest(
      Array.from({ length: 10 }, (_, m) =>
        Object.entries(perMinute).map(([segment, requests]) => ({
          flag: 'stored.split',
          arm: 'control',
          segment,
          at: t0 + m * minuteMs,
          requests,
          errors: 1,
        })),
      ).flat(),
    );
    const stored = storedSegments(
      ingest.store.segmentSeries('stored.split', t0),
      10_000,
      'stored control traffic',
    );
    db.close();
    // In order of arrival (the same minute, then by name), each a share of all control requests.
    expect(stored?.source).toBe('stored control traffic');
    expect(stored?.values.map((v) => v.value)).toEqual(['ap', 'eu', 'us']);
    expect(stored?.values.map((v) => v.share)).toEqual([0.09, 0.27, 0.54]);
    const p = (extra: string) =>
      plan(`${head('stored.split')}
rollout:
  stages: [{ percent: 50, bake: 10m }, { percent: 100 }]
  guardrails: [{ metric: errors, worse: higher, by: region${extra} }]
  holdback: 2
`);
    const [advisory] = powerChecks({
      plan: p(''),
      traffic: 2000,
      trafficSource: '--traffic',
      ...(stored ? { segments: stored } : {}),
    });
    expect(advisory?.numbers).toMatchObject({
      segment: 'region=ap',
      segmentShare: 0.09,
      segmentSource: 'stored control traffic: the smallest of 3 stored value(s) with a test of their own',
    });
    expect(advisory?.summary).toMatch(/in region=ap only \(9 % of traffic; stored control traffic/);
    // A segment waiting for data holds the stage only when the plan requires every segment.
    const [required] = powerChecks({
      plan: p(', requireEachSegment: true'),
      traffic: 2000,
      trafficSource: '--traffic',
      ...(stored ? { segments: stored } : {}),
    });
    expect(advisory?.numbers.promotionMinutes).toBe(10);
    expect(Number(required?.numbers.promotionMinutes)).toBeGreaterThan(10);
    // Too little stored with a segment, and there is no split to use.
    expect(storedSegments({ values: ['eu'], points: [], histograms: [] }, 5000, 'x')).toBeNull();
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
