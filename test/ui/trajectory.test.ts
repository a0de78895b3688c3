// The charted trajectories refold the intervals through the detectors: their last point is the verdict assess gave.
import { describe, expect, it } from 'vitest';
import { assess } from '../../src/health/assess.ts';
import type { FlagSeries, HistogramPoint, SignalPoint } from '../../src/health/series.ts';
import { planSchema } from '../../src/plans/schema.ts';
import { trajectories } from '../../src/ui/trajectory.ts';

const minute = 60_000;
const t0 = Date.parse('2026-03-01T12:00:00Z');

const plan = planSchema.parse({
  name: 'f',
  description: 'd',
  owner: 'o',
  type: 'release',
  rollout: {
    stages: [{ percent: 5, bake: '1h' }, { percent: 100 }],
    guardrails: [
      { metric: 'errors', worse: 'higher' },
      { metric: 'latency', worse: 'higher', quantile: 0.95 },
      { metric: 'errors', worse: 'higher', max: 0.02 },
      { metric: 'latency', worse: 'higher' },
    ],
  },
});

/** Treatment's errors climb from minute 10 and its tail slows: something for every test to see. */
function series(minutes: number): FlagSeries {
  const points: SignalPoint[] = [];
  const histograms: HistogramPoint[] = [];
  for (let m = 0; m < minutes; m++) {
    const start = t0 + m * minute;
    const arms = {
      treatment: { n: 100, e: m < 10 ? 0 : 4, slow: m < 10 ? 5 : 15 },
      control: { n: 1900, e: 6, slow: 95 },
    };
    for (const [arm, a] of Object.entries(arms)) {
      points.push({ start, width: minute, arm, metric: 'errors', count: a.n, sum: a.e, sumsq: a.e });
      const logSum = (a.n - a.slow) * Math.log(30) + a.slow * Math.log(200);
      const logSq = (a.n - a.slow) * Math.log(30) ** 2 + a.slow * Math.log(200) ** 2;
      points.push({
        start,
        width: minute,
        arm,
        metric: 'log-latency',
        count: a.n,
        sum: logSum,
        sumsq: logSq,
      });
      histograms.push({ start, width: minute, arm, le: 50, count: a.n - a.slow });
      histograms.push({ start, width: minute, arm, le: 250, count: a.slow });
    }
  }
  return { flag: 'f', since: t0, points, histograms };
}

describe('guardrail trajectories', () => {
  it('ends each statistic where the verdict evidence stands, with both arms per interval', () => {
    const flag = {
      plan,
      state: { phase: 'progressing', stageStartedAt: t0, startedAt: t0, watchSince: null },
    };
    const data = series(30);
    const now = t0 + 30 * minute;
    const verdict = assess(plan, data, {
      now,
      stageStartedAt: t0,
      rolloutStartedAt: t0,
      percent: 5,
      phase: 'progressing',
    });
    const [errors, tail, slo, mean] = trajectories(flag, data, verdict.guardrails, now);
    const last = (t: typeof errors, k = 0) => t?.statistic?.lines[k]?.points.at(-1)?.[1] ?? Number.NaN;
    const evidence = (k: number) => verdict.guardrails[k]?.evidence as Record<string, number>;
    const at = (k: number, field: string) => Number(evidence(k)[field]);

    expect(errors?.arms.lines.map((l) => [l.label, l.points.length])).toEqual([
      ['treatment', 30],
      ['control', 30],
    ]);
    expect(errors?.arms.lines[1]?.points.at(-1)?.[1]).toBeCloseTo((6 / 1900) * 100, 6);
    expect(last(errors)).toBeCloseTo(at(0, 'logEValue'), 2);
    expect(last(errors, 1)).toBeCloseTo(at(0, 'logChangePoint'), 1);
    expect(errors?.statistic?.levels[0]?.value).toBeCloseTo(at(0, 'logEValueThreshold'), 3);

    // The tail test leaves out the minutes that fixed its threshold, as assess does.
    expect(tail?.arms.levels[0]?.value).toBe(50);
    expect(last(tail)).toBeCloseTo(at(1, 'logEValue'), 2);
    expect(last(slo)).toBeCloseTo(at(2, 'statistic'), 2);
    expect(last(mean)).toBeCloseTo(at(3, 'logLambda'), 2);
    expect(mean?.arms.unit).toBe('ms');
    // Nothing here is trivially zero: the rise shows in every statistic.
    expect([last(errors), last(tail), last(mean)].every((v) => v > 10)).toBe(true);
    expect(last(slo)).toBeGreaterThan(0);
  });
});
