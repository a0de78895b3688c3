// Drift after 100 %: the CUSUM increment by hand, reflection, and average run lengths with and without a shift.
import { describe, expect, it } from 'vitest';
import { driftVerdict, initDrift, updateDrift } from '../../../src/health/detectors/drift.ts';
import { createRng } from '../../../src/prng.ts';

describe('the drift CUSUM', () => {
  it('adds test 1 increments at r = 1.2 and reflects at zero', () => {
    // s = 0.95: five treatment errors add 5·ln 1.2 − 5·ln(1 + 0.2·0.95) = 5·(0.182322 − 0.173953) = 0.041841;
    // one holdback error then adds −ln 1.19 = −0.173953, which the reflection stops at 0.
    const up = updateDrift(initDrift({ arl0Intervals: 1000 }), { nT: 950, nC: 50, eT: 5, eC: 0 });
    expect(up.statistic).toBeCloseTo(0.041841, 6);
    expect(up.h).toBeCloseTo(Math.log(1000), 12);
    const down = updateDrift(up, { nT: 950, nC: 50, eT: 0, eC: 1 });
    expect(down.statistic).toBe(0);
    expect(driftVerdict(down).status).toBe('healthy');
  });

  it('has nothing to compare without a holdback', () => {
    const s = updateDrift(initDrift({ arl0Intervals: 1000 }), { nT: 1000, nC: 0, eT: 9, eC: 0 });
    expect(driftVerdict(s).status).toBe('insufficient-data');
  });

  it('runs at least e^h intervals between false alarms on average, and far fewer after a shift', () => {
    const runLength = (seed: number, ratio: number, cap: number) => {
      const rng = createRng(55, seed, ratio);
      let s = initDrift({ arl0Intervals: 100 });
      for (let k = 1; k <= cap; k++) {
        const nT = rng.poisson(500);
        const nC = rng.poisson(500);
        s = updateDrift(s, { nT, nC, eT: rng.binomial(nT, 0.01 * ratio), eC: rng.binomial(nC, 0.01) });
        if (s.alarm) return k;
      }
      return cap;
    };
    const seeds = Array.from({ length: 100 }, (_, i) => i);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    // Lorden: ARL0 ≥ e^h = 100; capped runs only pull the estimate down.
    const healthy = mean(seeds.map((s) => runLength(s, 1, 2000)));
    expect(healthy).toBeGreaterThanOrEqual(100);
    const doubled = mean(seeds.map((s) => runLength(s, 2, 2000)));
    expect(doubled).toBeLessThan(healthy / 10);
    const v = driftVerdict(
      updateDrift(initDrift({ arl0Intervals: 100 }), { nT: 500, nC: 500, eT: 80, eC: 5 }),
    );
    expect(v.status).toBe('regressed');
    expect(v.summary).toContain('CUSUM');
  });
});
