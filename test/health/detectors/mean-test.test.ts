// Test 2: the mSPRT statistic and always-valid interval by hand, warm-up, orientation, statuses, and A/A validity.
import { describe, expect, it } from 'vitest';
import {
  initMeanTest,
  type MeanStats,
  meanStatistic,
  meanTestVerdict,
  mixingScale,
  updateMeanTest,
} from '../../../src/health/detectors/mean-test.ts';
import { createRng } from '../../../src/prng.ts';

/** Sufficient statistics of n values with this mean and sample variance. */
function stats(n: number, mean: number, variance: number, nonZero = n): MeanStats {
  return { count: n, sum: n * mean, sumSq: (n - 1) * variance + n * mean * mean, nonZero };
}

describe('the mSPRT statistic', () => {
  it('matches the hand computation, with its always-valid interval', () => {
    // θ̂ = 0.1, V = 0.25/200 + 0.25/200 = 0.0025, τ² = 0.01, V + τ² = 0.0125:
    // ln 2 + ½·ln 0.2 + 0.1²·0.01/(2·0.0025·0.0125) + ln Φ(0.01/√0.00003125)
    // = 0.693147 − 0.804719 + 1.6 + ln Φ(1.788854) = 0.693147 − 0.804719 + 1.6 − 0.037514 = 1.450914.
    // Half-width √(0.0025·0.0125/0.01·(2·ln 100 + ln 5)) = √(0.003125·10.819778) = 0.183880.
    const state = {
      options: { alpha: 0.01, worse: 'higher' as const, tau: 0.1 },
      treatment: stats(200, 0.1, 0.25),
      control: stats(200, 0, 0.25),
    };
    const m = meanStatistic(state);
    expect(m.logLambda).toBeCloseTo(1.450914, 5);
    expect(m.halfWidth).toBeCloseTo(0.18388, 5);
    expect(m.difference).toBeCloseTo(0.1, 12);
  });

  it('chooses τ at about 3.4 standard errors of the planned sample', () => {
    expect(mixingScale({ treatment: 0.5, control: 0.5 }, { nT: 100, nC: 100 })).toBeCloseTo(
      Math.sqrt(11.5 * 0.005),
      12,
    );
  });
});

describe('the mean test', () => {
  it('may not act before warm-up, however large the effect', () => {
    let s = initMeanTest({ alpha: 0.01, worse: 'higher', tau: 0.1 });
    s = updateMeanTest(s, { treatment: stats(60, 1, 0.25), control: stats(60, 0, 0.25) });
    expect(meanStatistic(s).logLambda).toBeGreaterThan(20);
    expect(s.alarm).toBeNull();
    expect(meanTestVerdict(s).status).toBe('insufficient-data');
    s = updateMeanTest(s, { treatment: stats(40, 1, 0.25), control: stats(40, 0, 0.25) });
    expect(s.alarm).toMatchObject({ interval: 2, form: 'msprt' });
    expect(meanTestVerdict(s).status).toBe('regressed');
  });

  it('counts events for warm-up: a few conversions in many visits is not enough', () => {
    let s = initMeanTest({ alpha: 0.01, worse: 'lower', tau: 0.01 });
    s = updateMeanTest(s, { treatment: stats(5000, 0, 0, 0), control: stats(5000, 9 / 5000, 0.0018, 9) });
    expect(meanTestVerdict(s).status).toBe('insufficient-data');
  });

  it('orients "worse" by direction: a drop rolls back a lower-is-worse metric, a rise does not', () => {
    const drop = updateMeanTest(initMeanTest({ alpha: 0.01, worse: 'lower', tau: 0.01 }), {
      treatment: stats(20000, 0.04, 0.0384, 800),
      control: stats(20000, 0.06, 0.0564, 1200),
    });
    expect(meanTestVerdict(drop).status).toBe('regressed');
    const rise = updateMeanTest(initMeanTest({ alpha: 0.01, worse: 'lower', tau: 0.01 }), {
      treatment: stats(20000, 0.06, 0.0564, 1200),
      control: stats(20000, 0.04, 0.0384, 800),
    });
    expect(meanTestVerdict(rise).status).toBe('healthy');
  });

  it('is inconclusive only when the planned sample cannot exclude the harm margin', () => {
    const options = {
      alpha: 0.01,
      worse: 'higher' as const,
      tau: 0.1,
      harmMargin: 0.1,
      plannedTreatmentUnits: 400,
    };
    const early = updateMeanTest(initMeanTest(options), {
      treatment: stats(200, 0.02, 1),
      control: stats(200, 0, 1),
    });
    expect(meanTestVerdict(early).status).toBe('insufficient-data');
    const planned = updateMeanTest(early, { treatment: stats(200, 0.02, 1), control: stats(200, 0, 1) });
    expect(meanTestVerdict(planned).status).toBe('inconclusive');
    const precise = updateMeanTest(initMeanTest(options), {
      treatment: stats(50000, 0, 0.25),
      control: stats(50000, 0, 0.25),
    });
    const v = meanTestVerdict(precise);
    expect(v.status).toBe('healthy');
    expect(v.evidence.interval.upper).toBeLessThan(0.1);
  });

  it('reports the interval as a ratio on log scale', () => {
    const s = updateMeanTest(initMeanTest({ alpha: 0.01, worse: 'higher', tau: 0.1, scale: 'log' }), {
      treatment: stats(200, 0.1, 0.25),
      control: stats(200, 0, 0.25),
    });
    const v = meanTestVerdict(s);
    expect(v.evidence.ratioInterval?.lower).toBeCloseTo(Math.exp(0.1 - 0.18388), 3);
    expect(v.evidence.ratioInterval?.upper).toBeCloseTo(Math.exp(0.1 + 0.18388), 3);
  });
});

describe('the guarantee under A/A', () => {
  it('keeps false alarms under α while looking after every interval', () => {
    const seeds = 500;
    const alpha = 0.05;
    let fired = 0;
    for (let seed = 0; seed < seeds; seed++) {
      const rng = createRng(77, seed);
      const draw = (n: number): MeanStats => {
        const sum = n * 5 + 0.5 * Math.sqrt(n) * rng.normal();
        return { count: n, sum, sumSq: 0.25 * 2 * rng.gamma((n - 1) / 2) + (sum * sum) / n, nonZero: n };
      };
      let s = initMeanTest({ alpha, worse: 'higher', tau: 0.05 });
      for (let k = 0; k < 200 && !s.alarm; k++)
        s = updateMeanTest(s, { treatment: draw(20), control: draw(180) });
      if (s.alarm) fired++;
    }
    expect(fired / seeds).toBeLessThanOrEqual(alpha + 3 * Math.sqrt((alpha * (1 - alpha)) / seeds));
  });
});
