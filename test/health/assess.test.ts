import { describe, expect, it } from 'vitest';
import { type AssessContext, assess } from '../../src/health/assess.ts';
import type { FlagSeries, HistogramPoint, SignalPoint } from '../../src/health/series.ts';
import { type PlanInput, planSchema } from '../../src/plans/schema.ts';

const t0 = Date.parse('2026-11-02T10:00:00Z');
const min = 60_000;

function plan(rollout: Partial<NonNullable<PlanInput['rollout']>>) {
  return planSchema.parse({
    name: 'queue.async-tasks',
    description: 'test',
    owner: 'test',
    type: 'release',
    rollout: { stages: [{ percent: 5 }, { percent: 100 }], ...rollout },
  });
}

interface Minute {
  t: { n: number; e: number };
  c: { n: number; e: number };
}

/** An errors series: one bucket per arm and minute from `from`, with the counts `at(m)` gives. */
function errorSeries(from: number, minutes: number, at: (m: number) => Minute): FlagSeries {
  const points: SignalPoint[] = [];
  for (let m = 0; m < minutes; m++) {
    const { t, c } = at(m);
    const start = from + m * min;
    points.push({ start, width: min, arm: 'control', metric: 'errors', count: c.n, sum: c.e, sumsq: c.e });
    points.push({ start, width: min, arm: 'treatment', metric: 'errors', count: t.n, sum: t.e, sumsq: t.e });
  }
  return { flag: 'queue.async-tasks', since: from, points, histograms: [] };
}

const ctx = (over: Partial<AssessContext> = {}): AssessContext => ({
  now: t0 + 60 * min,
  stageStartedAt: t0,
  rolloutStartedAt: t0,
  percent: 5,
  phase: 'progressing',
  ...over,
});

const errorsPlan = plan({
  guardrails: [
    { metric: 'errors', worse: 'higher' },
    { metric: 'errors', worse: 'higher', max: 0.05 },
  ],
});
// Baseline 0.5 % errors on both arms, 5 % of 10,000 requests a minute in treatment.
const healthyMinute = (m: number): Minute => ({
  t: { n: 500, e: 2 + (m % 2) },
  c: { n: 9500, e: 47 + (m % 3) },
});

describe('assess', () => {
  it('finds a healthy change healthy, with sample sizes, rates, statistic and threshold as evidence', () => {
    const v = assess(errorsPlan, errorSeries(t0, 60, healthyMinute), ctx());
    expect(v.status).toBe('healthy');
    expect(v.guardrails.map((g) => [g.name, g.status])).toEqual([
      ['errors (relative)', 'healthy'],
      ['errors <= 0.05', 'healthy'],
    ]);
    expect(v.guardrails[0]?.evidence).toMatchObject({
      treatment: { requests: 30_000, events: 150 },
      control: { requests: 570_000, events: 2880 },
      logEValueThreshold: expect.any(Number),
      alpha: expect.closeTo((0.01 * 0.9) / 0.925, 12),
    });
    expect(v.guardrails[1]?.evidence).toMatchObject({
      interval: { lower: expect.any(Number), upper: expect.any(Number) },
    });
    expect(v.srm.status).toBe('ok');
    expect(v.exposure).toEqual({ treatmentRequests: 30_000, controlRequests: 570_000, since: t0 });
    expect(v.stale).toBe(false);
  });

  it('finds treatment errors at five times control regressed and says which guardrail, numbers and threshold', () => {
    const v = assess(
      errorsPlan,
      errorSeries(t0, 10, (m) => ({ t: { n: 500, e: 12 + (m % 2) }, c: healthyMinute(m).c })),
      ctx({ now: t0 + 10 * min }),
    );
    expect(v.status).toBe('regressed');
    const errors = v.guardrails[0];
    expect(errors?.status).toBe('regressed');
    expect(errors?.summary).toMatch(
      /^errors \(relative\): bad-event share: treatment 125\/5000, control 479\/95000; .* ≥ /,
    );
  });

  it('reports insufficient data while too few treatment requests could rule out a rise', () => {
    const v = assess(
      errorsPlan,
      errorSeries(t0, 3, () => ({ t: { n: 20, e: 0 }, c: { n: 380, e: 2 } })),
      ctx({ now: t0 + 3 * min }),
    );
    expect(v.guardrails.map((g) => g.status)).toEqual(['insufficient-data', 'insufficient-data']);
    expect(v.status).toBe('insufficient-data');
    expect(v.guardrails[0]?.summary).toContain('treatment requests to rule out a 2× rise');
  });

  it('flags a sample ratio mismatch when treatment gets far more than the configured percent', () => {
    const series = errorSeries(t0, 10, () => ({ t: { n: 2000, e: 10 }, c: { n: 8000, e: 40 } }));
    const v = assess(errorsPlan, series, ctx({ now: t0 + 10 * min }));
    expect(v.srm).toMatchObject({
      status: 'mismatch',
      evidence: { treatment: 20_000, control: 80_000, expectedShare: 0.05 },
    });
    expect(assess(errorsPlan, series, ctx({ now: t0 + 10 * min, percent: 20 })).srm.status).toBe('ok');
  });

  it('counts the split and the exposure from the first whole minute of the current stage', () => {
    const v = assess(
      errorsPlan,
      errorSeries(t0, 20, healthyMinute),
      ctx({ now: t0 + 20 * min, stageStartedAt: t0 + 9.5 * min }),
    );
    expect(v.exposure).toEqual({
      treatmentRequests: 10 * 500,
      controlRequests: 10 * 9500,
      since: t0 + 9.5 * min,
    });
  });

  it('is stale when no signal arrived within the window, and fresh otherwise', () => {
    const series = errorSeries(t0, 10, healthyMinute);
    expect(assess(errorsPlan, series, ctx({ now: t0 + 15 * min })).stale).toBe(true);
    expect(assess(errorsPlan, series, ctx({ now: t0 + 12 * min })).stale).toBe(false);
    expect(assess(errorsPlan, { ...series, points: [] }, ctx({ now: t0 + 1 * min })).stale).toBe(true);
  });

  it('fixes the p95 threshold from control history before the rollout and catches a tail regression', () => {
    const p95Plan = plan({ guardrails: [{ metric: 'latency', worse: 'higher', quantile: 0.95 }] });
    const hist = (start: number, arm: string, counts: [number, number, number]): HistogramPoint[] =>
      [50, 100, 200].map((le, i) => ({ start, width: min, arm, le, count: counts[i] as number }));
    const histograms: HistogramPoint[] = [];
    for (let m = -30; m < 0; m++) histograms.push(...hist(t0 + m * min, 'control', [900, 60, 40]));
    for (let m = 0; m < 10; m++) {
      histograms.push(...hist(t0 + m * min, 'control', [900, 60, 40]));
      histograms.push(...hist(t0 + m * min, 'treatment', [35, 5, 10]));
    }
    const series: FlagSeries = { flag: 'queue.async-tasks', since: t0 - 30 * min, points: [], histograms };
    const v = assess(p95Plan, series, ctx({ now: t0 + 10 * min }));
    const tail = v.guardrails[0];
    expect(tail?.name).toBe('latency p95');
    expect(tail?.status).toBe('regressed');
    expect(tail?.evidence).toMatchObject({
      threshold: { ms: 100, quantile: 0.95, source: 'control before the rollout', observations: 30_000 },
      treatment: { requests: 500, events: 100 },
      control: { requests: 10_000, events: 400 },
    });

    const noHistory = { ...series, since: t0, histograms: histograms.filter((h) => h.start >= t0) };
    const late = assess(p95Plan, noHistory, ctx({ now: t0 + 10 * min })).guardrails[0];
    expect(late?.evidence).toMatchObject({
      threshold: { ms: 100, source: 'first control data after the start' },
    });
  });

  it('watches for drift against the holdback once the rollout is complete', () => {
    const driftPlan = plan({ guardrails: [{ metric: 'errors', worse: 'higher' }], holdback: 5 });
    const series = errorSeries(t0, 30, (m) => ({
      t: { n: 9500, e: 47 + (m % 3) },
      c: { n: 500, e: 2 + (m % 2) },
    }));
    const v = assess(driftPlan, series, ctx({ now: t0 + 30 * min, phase: 'completed', percent: 95 }));
    expect(v.guardrails[0]).toMatchObject({
      name: 'errors (relative) (drift vs holdback)',
      status: 'healthy',
    });
    expect(v.guardrails[0]?.evidence).toMatchObject({
      test: 'drift-change-point',
      holdback: { requests: 15_000 },
    });
  });

  it('asks a person when revenue arrives without the squares its variance needs', () => {
    const revenuePlan = plan({ guardrails: [{ metric: 'revenue', worse: 'lower' }] });
    const points: SignalPoint[] = ['treatment', 'control'].map((arm) => ({
      start: t0,
      width: min,
      arm,
      metric: 'revenue',
      count: 100,
      sum: 1900,
      sumsq: null,
    }));
    const v = assess(
      revenuePlan,
      { flag: 'queue.async-tasks', since: t0, points, histograms: [] },
      ctx({ now: t0 + 2 * min }),
    );
    expect(v.guardrails[0]).toMatchObject({
      status: 'inconclusive',
      summary: expect.stringContaining('revenueSquares'),
    });
  });
});
