// Drift after 100 %: the change-point mixture by hand, the holdback requirement, the false-alarm bound over a long watch, and a rise caught.
import { describe, expect, it } from 'vitest';
import { logStartWeight } from '../../../src/health/detectors/change-point.ts';
import { driftStatistic, driftVerdict, initDrift, updateDrift } from '../../../src/health/detectors/drift.ts';
import { createRng } from '../../../src/prng.ts';

describe('the drift test', () => {
  it('folds test 1 increments into the change-point mixture, by hand on one ratio', () => {
    // s = 0.95: five treatment errors add ℓ = 5·ln 1.2 − 5·ln(1 + 0.2·0.95) = 0.041841; one holdback error
    // then adds −ln 1.19 = −0.173953. S_1 = w_1·e^0.041841, S_2 = (S_1 + w_2)·e^−0.173953.
    const one = updateDrift(initDrift({ alpha: 0.01, ratios: [1.2] }), { nT: 950, nC: 50, eT: 5, eC: 0 });
    const w1 = Math.exp(logStartWeight(1));
    expect(driftStatistic(one)).toBeCloseTo(Math.log(w1) + 0.041841, 6);
    const two = updateDrift(one, { nT: 950, nC: 50, eT: 0, eC: 1 });
    const s2 = (w1 * Math.exp(0.041841) + Math.exp(logStartWeight(2))) * Math.exp(-0.173953);
    expect(driftStatistic(two)).toBeCloseTo(Math.log(s2), 6);
    expect(driftVerdict(two).status).toBe('healthy');
    expect(driftVerdict(two).evidence.threshold).toBeCloseTo(Math.log(100), 3);
  });

  it('has nothing to compare without a holdback', () => {
    const s = updateDrift(initDrift({ alpha: 0.01 }), { nT: 1000, nC: 0, eT: 9, eC: 0 });
    expect(driftVerdict(s).status).toBe('insufficient-data');
  });

  it('keeps false alarms under α over a long watch, and catches a doubling in a fraction of it', () => {
    const alpha = 0.05;
    const run = (seed: number, ratio: number, cap: number) => {
      const rng = createRng(56, seed, ratio);
      let s = initDrift({ alpha });
      for (let k = 1; k <= cap; k++) {
        const nT = rng.poisson(950);
        const nC = rng.poisson(50);
        s = updateDrift(s, { nT, nC, eT: rng.binomial(nT, 0.01 * ratio), eC: rng.binomial(nC, 0.01) });
        if (s.alarm) return k;
      }
      return null;
    };
    const seeds = Array.from({ length: 300 }, (_, i) => i);
    const healthy = seeds.map((s) => run(s, 1, 3000)).filter((k) => k !== null).length;
    expect(healthy / seeds.length).toBeLessThanOrEqual(
      alpha + 3 * Math.sqrt((alpha * (1 - alpha)) / seeds.length),
    );
    const doubled = seeds.slice(0, 50).map((s) => run(s, 2, 3000));
    expect(doubled.every((k) => k !== null && k < 1000)).toBe(true);
    const v = driftVerdict(updateDrift(initDrift({ alpha: 0.01 }), { nT: 500, nC: 500, eT: 80, eC: 5 }));
    expect(v.status).toBe('regressed');
    expect(v.summary).toContain('≥ 4.605');
  });
});
