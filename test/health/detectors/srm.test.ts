// Sample ratio mismatch: the chi-square by hand, a broken split caught, a correct split left alone.
import { describe, expect, it } from 'vitest';
import { productSrmOptions, sampleRatioTest } from '../../../src/health/detectors/srm.ts';
import { createRng } from '../../../src/prng.ts';

describe('sampleRatioTest', () => {
  it('matches the hand computation', () => {
    // N = 10,000 at 5 %: expected 500, observed 520. χ² = 20²/(10,000·0.05·0.95) = 400/475 = 0.842105;
    // p = erfc(√0.421053) = erfc(0.648886) = 0.3588.
    const v = sampleRatioTest({ treatment: 520, control: 9480 }, 0.05);
    expect(v.status).toBe('ok');
    expect(v.evidence.chiSquare).toBeCloseTo(0.8421, 4);
    expect(v.evidence.pValue).toBeCloseTo(0.3588, 3);
  });

  it('flags a split that lost a tenth of its treatment units', () => {
    const v = sampleRatioTest({ treatment: 4500, control: 95000 }, 0.05);
    expect(v.status).toBe('mismatch');
    expect(v.summary).toContain('configured 0.05');
  });

  it('flags an arm that stopped reporting entirely', () => {
    expect(sampleRatioTest({ treatment: 0, control: 2000 }, 0.05).status).toBe('mismatch');
  });

  it('waits for enough units, and has nothing to test at 0 % or 100 %', () => {
    expect(sampleRatioTest({ treatment: 1, control: 60 }, 0.05).status).toBe('insufficient-data');
    expect(sampleRatioTest({ treatment: 5000, control: 0 }, 1).status).toBe('insufficient-data');
  });

  it('flags a correct split about as often as its p threshold', () => {
    const rng = createRng(6, 6);
    const trials = 4000;
    let flagged = 0;
    for (let i = 0; i < trials; i++) {
      const treatment = rng.binomial(100_000, 0.05);
      const status = sampleRatioTest({ treatment, control: 100_000 - treatment }, 0.05, {
        pThreshold: 0.01,
      }).status;
      if (status === 'mismatch') flagged++;
    }
    expect(flagged / trials).toBeLessThanOrEqual(0.01 + 3 * Math.sqrt(0.0099 / trials));
    expect(flagged).toBeGreaterThan(0);
  });

  it('ignores a small persistent deviation that only sticky users explain, with the product settings', () => {
    // 1.05 % of a million requests at 1 %: p ≈ 5e-7, but only 5 % off — the spread of which users fall in.
    const units = { treatment: 10_500, control: 989_500 };
    expect(sampleRatioTest(units, 0.01).status).toBe('mismatch');
    expect(sampleRatioTest(units, 0.01, productSrmOptions).status).toBe('ok');
    expect(sampleRatioTest({ treatment: 8_500, control: 991_500 }, 0.01, productSrmOptions).status).toBe(
      'mismatch',
    );
  });
});
