// Several guardrails: Bonferroni shares and averaged e-values.
import { describe, expect, it } from 'vitest';
import { averagedEValues, splitAlpha } from '../../../src/health/detectors/combine.ts';

describe('splitAlpha', () => {
  it('splits the budget in proportion to the weights, summing to α', () => {
    const shares = splitAlpha(0.01, [0.8, 0.1, 0.05, 0.05]);
    expect(shares.map((a) => Number(a.toPrecision(6)))).toEqual([0.008, 0.001, 0.0005, 0.0005]);
    expect(splitAlpha(0.01, [1, 1, 1, 1])).toEqual([0.0025, 0.0025, 0.0025, 0.0025]);
  });
});

describe('averagedEValues', () => {
  it('rejects when the mean e-value reaches 1/α', () => {
    // e-values 150, 50, 100: mean 100 = 1/0.01.
    const r = averagedEValues([Math.log(150), Math.log(50), Math.log(100)], 0.01);
    expect(r.logAverage).toBeCloseTo(Math.log(100), 12);
    expect(r.rejected).toBe(true);
    expect(averagedEValues([Math.log(250), 0, 0], 0.01).rejected).toBe(false);
  });
});
