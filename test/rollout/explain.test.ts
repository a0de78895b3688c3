// Decisions in plain words: the sentences reconcile records, built from real detector evidence over stored-shape series.
import { describe, expect, it } from 'vitest';
import { assess } from '../../src/health/assess.ts';
import type { FlagSeries, HistogramPoint, SignalPoint } from '../../src/health/series.ts';
import { type Plan, planSchema } from '../../src/plans/schema.ts';
import { guardrailSentence, pct, splitSentence, srmReason } from '../../src/rollout/explain.ts';
import { reconcile } from '../../src/rollout/reconcile.ts';
import { type FlagState, initialState } from '../../src/rollout/state.ts';

const minute = 60_000;
const t0 = Date.parse('2026-03-01T12:00:00Z');

function plan(guardrails: unknown[], onRegression = 'rollback'): Plan {
  return planSchema.parse({
    name: 'f',
    description: 'd',
    owner: 'o',
    type: 'release',
    rollout: {
      stages: [
        { percent: 1, bake: '10m', minRequests: 100 },
        { percent: 5, bake: '30m', minRequests: 2000 },
        { percent: 25, bake: '10m' },
        { percent: 100 },
      ],
      guardrails,
      onRegression,
    },
  });
}

interface Arm {
  requests: number;
  errors: number;
  /** Latency observations per upper bound (ms). */
  latency?: Record<number, number>;
}

/** `minutes` one-minute intervals from t0, the same arms each minute. */
function series(minutes: number, arms: { treatment: Arm; control: Arm }): FlagSeries {
  const points: SignalPoint[] = [];
  const histograms: HistogramPoint[] = [];
  for (let m = 0; m < minutes; m++) {
    const start = t0 + m * minute;
    for (const [arm, a] of Object.entries(arms)) {
      points.push({
        start,
        width: minute,
        arm,
        metric: 'errors',
        count: a.requests,
        sum: a.errors,
        sumsq: a.errors,
      });
      for (const [le, n] of Object.entries(a.latency ?? {}))
        histograms.push({ start, width: minute, arm, le: Number(le), count: n });
    }
  }
  return { flag: 'f', since: t0, points, histograms };
}

const state = (stage: number, extra: Partial<FlagState> = {}): FlagState => ({
  ...initialState(plan([]), t0),
  phase: 'progressing',
  stage,
  stageStartedAt: t0,
  startedAt: t0,
  ...extra,
});

function decide(p: Plan, s: FlagState, data: FlagSeries, minutes: number) {
  const now = t0 + minutes * minute;
  const verdict = assess(p, data, {
    now,
    stageStartedAt: s.stageStartedAt,
    rolloutStartedAt: s.startedAt,
    percent: 5,
    phase: s.phase,
  });
  return { verdict, result: reconcile(p, s, verdict, now) };
}

describe('decisions in plain words', () => {
  it('states both error rates, their ratio, the guarded ratio, the confidence and what happened', () => {
    const p = plan([{ metric: 'errors', worse: 'higher' }]);
    const data = series(30, {
      treatment: { requests: 90, errors: 1 },
      control: { requests: 2000, errors: 6 },
    });
    const { result } = decide(p, state(1), data, 30);
    expect(result.decision.action).toBe('rollback');
    expect(result.decision.reason).toBe(
      'errors (relative): errors 1.11 % in treatment against 0.30 % in control (3.7×), beyond the 2× this guardrail guards against, with 99 % confidence; rolled back from 5 %',
    );
    // The statistic, threshold and form stay in the evidence.
    expect(result.decision.evidence).toMatchObject({
      test: 'count-mixture',
      alarm: { form: 'cumulative', threshold: expect.any(Number), statistic: expect.any(Number) },
    });
  });

  it('says a change that began after a healthy spell was caught as such, with the same confidence', () => {
    const p = plan([{ metric: 'errors', worse: 'higher' }]);
    // Two healthy hours (treatment 0 of 100, control 10 of 1,900 a minute), then treatment fails 4 % a minute.
    const healthy = series(120, {
      treatment: { requests: 100, errors: 0 },
      control: { requests: 1900, errors: 10 },
    });
    const bad = series(135, {
      treatment: { requests: 100, errors: 4 },
      control: { requests: 1900, errors: 10 },
    });
    const data = {
      ...healthy,
      points: [...healthy.points, ...bad.points.filter((pt) => pt.start >= t0 + 120 * minute)],
    };
    const { result } = decide(p, state(1), data, 135);
    expect(result.decision.action).toBe('rollback');
    expect(result.decision.evidence).toMatchObject({ alarm: { form: 'change-point' } });
    expect(result.decision.reason).toContain(
      'caught as a change that began after the start, with 99 % confidence however long the rollout ran',
    );
  });

  it('does not call a rise beyond the guarded ratio when it is not, though the test is sure of it', () => {
    const p = plan([{ metric: 'errors', worse: 'higher', relative: 9 }]);
    const data = series(30, {
      treatment: { requests: 90, errors: 1 },
      control: { requests: 2000, errors: 6 },
    });
    expect(decide(p, state(1), data, 30).result.decision.reason).toBe(
      'errors (relative): errors 1.11 % in treatment against 0.30 % in control (3.7×), more than in control, with 99 % confidence (this guardrail watches for 10×); rolled back from 5 %',
    );
  });

  it('says a step-back steps back, naming both percents', () => {
    const p = plan([{ metric: 'errors', worse: 'higher' }], 'step-back');
    const data = series(30, {
      treatment: { requests: 90, errors: 1 },
      control: { requests: 2000, errors: 6 },
    });
    expect(decide(p, state(1), data, 30).result.decision.reason).toMatch(
      /; stepped back from 5 % to 1 % and held$/,
    );
  });

  it('states the latency threshold in ms for a tail guardrail', () => {
    const p = plan([{ metric: 'latency', worse: 'higher', quantile: 0.95 }]);
    const data = series(30, {
      treatment: { requests: 100, errors: 0, latency: { 50: 60, 100: 20, 250: 20 } },
      control: { requests: 2000, errors: 0, latency: { 50: 1700, 100: 200, 250: 100 } },
    });
    const { result } = decide(p, state(1), data, 30);
    expect(result.decision.action).toBe('rollback');
    expect(result.decision.reason).toMatch(
      /^latency p95: 20\.0 % of treatment requests slower than 100 ms \(control's p95\) against 5\.00 % in control \(4×\), beyond the 2× this guardrail guards against, with [\d.]+ % confidence; rolled back from 5 %$/,
    );
  });

  it('states an SLO as the observed rate against its limit with the always-valid range', () => {
    const p = plan([{ metric: 'errors', worse: 'higher', max: 0.02 }]);
    const data = series(30, {
      treatment: { requests: 100, errors: 8 },
      control: { requests: 2000, errors: 6 },
    });
    const reason = decide(p, state(1), data, 30).result.decision.reason;
    expect(reason).toMatch(
      /^errors <= 0\.02: errors 8\.00 % in treatment \(240 of 3,000\) against the 2\.00 % limit \(always-valid range [\d.]+ %–[\d.]+ %\), the whole range is beyond the limit, with [\d.]+ % confidence; rolled back from 5 %$/,
    );
  });

  it('states means for latency, conversions and revenue, and drift against the holdback', () => {
    const points: SignalPoint[] = [];
    for (let m = 0; m < 60; m++) {
      const start = t0 + m * minute;
      const arms = [
        ['treatment', 100, 3, 45, 3, 40],
        ['control', 1900, 6, 30, 95, 1900],
      ] as const;
      for (const [arm, n, e, ms, conv, rev] of arms) {
        const log = n * Math.log(ms);
        points.push({ start, width: minute, arm, metric: 'errors', count: n, sum: e, sumsq: e });
        points.push({
          start,
          width: minute,
          arm,
          metric: 'log-latency',
          count: n,
          sum: log,
          sumsq: log * Math.log(ms) + n / 4,
        });
        points.push({ start, width: minute, arm, metric: 'conversions', count: n, sum: conv, sumsq: conv });
        points.push({ start, width: minute, arm, metric: 'revenue', count: n, sum: rev, sumsq: rev * 20 });
      }
    }
    const data: FlagSeries = { flag: 'f', since: t0, points, histograms: [] };
    const reasonFor = (guardrail: unknown, completed = false) => {
      const p = planSchema.parse({
        name: 'f',
        description: 'd',
        owner: 'o',
        type: 'release',
        rollout: {
          stages: [{ percent: 5, bake: '1h' }, { percent: 100 }],
          guardrails: [guardrail],
          holdback: completed ? 5 : 0,
        },
      });
      const s = state(completed ? 1 : 0, { phase: completed ? 'completed' : 'progressing' });
      return decide(p, s, data, 60).result.decision;
    };
    expect(reasonFor({ metric: 'latency', worse: 'higher' })).toMatchObject({
      action: 'rollback',
      reason: expect.stringMatching(
        /^latency \(relative\): typical latency 45 ms in treatment against 30 ms in control \(\+50 %, always-valid range \+\d+ % to \+\d+ %\), higher in treatment beyond the 10 % change this guardrail guards against, with 99 % confidence; rolled back from 5 %$/,
      ),
    });
    expect(reasonFor({ metric: 'conversions', worse: 'lower' }).reason).toBe(
      'conversions (relative): conversions 3.00 % per user in treatment against 5.00 % in control (−40 %), lower in treatment beyond the 5 % change this guardrail guards against, with 99 % confidence; rolled back from 5 %',
    );
    expect(reasonFor({ metric: 'revenue', worse: 'lower' }).reason).toMatch(
      /^revenue \(relative\): revenue 0\.40 per user in treatment against 1\.00 in control \(−60 %\), lower/,
    );
    expect(reasonFor({ metric: 'errors', worse: 'higher' }, true).reason).toMatch(
      /^errors \(relative\) \(drift vs holdback\): errors 3\.00 % in treatment against 0\.32 % in the holdback since completion \(9\.5×\), a sustained rise since completion, most likely 3×, with 99 % confidence however long it is watched \(evidence [\d.]+ ≥ 4\.605, log scale\); rolled back from 95 %$/,
    );
  });

  it('says what a promotion checked: bake, exposure, guardrails and their figures', () => {
    const p = plan([
      { metric: 'errors', worse: 'higher' },
      { metric: 'errors', worse: 'higher', max: 0.02 },
    ]);
    const data = series(31, {
      treatment: { requests: 210, errors: 1 },
      control: { requests: 4000, errors: 12 },
    });
    const { result } = decide(p, state(1), data, 31);
    expect(result.decision.action).toBe('promote');
    expect(result.decision.reason).toBe(
      'healthy: 31 min of 30 min baked, 6,510 of 2,000 treatment requests, 2 guardrails passed; errors 0.48 % vs 0.30 %; errors 0.48 % within 2.00 %',
    );
  });

  it('names the guardrail before any number in a hold, so a hold is recorded once while counts grow', () => {
    const p = plan([{ metric: 'errors', worse: 'higher' }]);
    const first = decide(
      p,
      state(1),
      series(31, { treatment: { requests: 5, errors: 0 }, control: { requests: 2000, errors: 6 } }),
      31,
    );
    expect(first.result.decision.reason).toMatch(
      /^waiting for data on errors \(relative\): 155 of the [\d,]+ treatment requests needed to rule out a 2× rise$/,
    );
    expect(first.result.changed).toBe(true);
    const later = decide(
      p,
      first.result.next,
      series(32, { treatment: { requests: 5, errors: 0 }, control: { requests: 2000, errors: 6 } }),
      32,
    );
    expect(later.result.decision.action).toBe('hold');
    expect(later.result.changed).toBe(false);
  });

  it('says when there is no control to compare with, before any number', () => {
    const p = plan([{ metric: 'errors', worse: 'higher' }]);
    const data = series(30, { treatment: { requests: 100, errors: 0 }, control: { requests: 0, errors: 0 } });
    const { verdict, result } = decide(p, state(1), data, 30);
    expect(result.decision.reason).toMatch(
      /^no control traffic for errors \(relative\): 0 control requests against 3,000 treatment; comparing needs [\d,]+$/,
    );
    expect(guardrailSentence(p, verdict.guardrails[0] as never)).toMatch(
      /^errors \(relative\): no control traffic, 0 control requests against 3,000 treatment/,
    );
  });

  it('describes each guardrail of a verdict for the dashboard', () => {
    const p = plan([{ metric: 'errors', worse: 'higher' }]);
    const { verdict } = decide(
      p,
      state(1),
      series(30, { treatment: { requests: 200, errors: 1 }, control: { requests: 2000, errors: 6 } }),
      30,
    );
    expect(guardrailSentence(p, verdict.guardrails[0] as never)).toBe(
      'errors (relative): healthy, errors 0.50 % in treatment against 0.30 % in control (1.7×)',
    );
    const thin = decide(
      p,
      state(1),
      series(10, { treatment: { requests: 20, errors: 0 }, control: { requests: 2000, errors: 6 } }),
      10,
    ).verdict;
    expect(guardrailSentence(p, thin.guardrails[0] as never)).toMatch(
      /^errors \(relative\): waiting for data, 200 of the [\d,]+ treatment requests needed to rule out a 2× rise$/,
    );
  });

  it('reads a sample ratio mismatch as shares of the traffic', () => {
    expect(
      srmReason({
        status: 'mismatch',
        summary: 'x',
        evidence: {
          treatment: 40,
          control: 9960,
          observedShare: 0.004,
          expectedShare: 0.05,
          pValue: 0,
          unit: 'requests',
        },
      }),
    ).toBe(
      'split looks wrong: 0.40 % of 10,000 requests reached treatment where 5.00 % should (p = 0); holding until it is explained',
    );
    expect(
      splitSentence({
        status: 'ok',
        summary: 'x',
        evidence: {
          treatment: 120,
          control: 11880,
          observedShare: 0.01,
          expectedShare: 0.01,
          pValue: 1,
          unit: 'requests',
        },
      }),
    ).toBe('split as configured: 1.00 % of 12,000 requests reached treatment, 1.00 % expected');
    expect(pct(0.0111)).toBe('1.11 %');
    expect(pct(0.25)).toBe('25.0 %');
  });
});
