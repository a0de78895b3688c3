// Special functions against published values: erfc, Φ, the chi-square tail, log-gamma.
import { describe, expect, it } from 'vitest';
import {
  chiSquare1Survival,
  erfc,
  logBeta,
  logErfc,
  logGamma,
  logNormalCdf,
  normalCdf,
} from '../../../src/health/detectors/distributions.ts';

describe('erfc and the normal distribution', () => {
  it('matches tabulated erfc to seven significant digits', () => {
    expect(erfc(0)).toBeCloseTo(1, 7);
    expect(erfc(1)).toBeCloseTo(0.157299207, 7);
    expect(erfc(2) / 0.004677735).toBeCloseTo(1, 6);
    expect(erfc(-1)).toBeCloseTo(1.842700793, 7);
  });

  it('gives the familiar normal quantiles', () => {
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 6);
    expect(normalCdf(-2.326348)).toBeCloseTo(0.01, 6);
  });

  it('keeps ln Φ finite far in the lower tail, where Φ underflows', () => {
    expect(normalCdf(-40)).toBe(0);
    // Mills ratio: Φ(−x) ≈ φ(x)/x·(1 − 1/x²), so ln Φ(−40) ≈ −800 − ln(40·√(2π)) − 1/1600 ≈ −804.608.
    expect(logNormalCdf(-40)).toBeCloseTo(-804.608, 2);
    // erfc(x) ≈ e^(−x²)/(x√π)·(1 − 1/(2x²)): ln erfc(30) ≈ −900 − ln(30√π) − 1/1800 ≈ −903.9741.
    expect(logErfc(30)).toBeCloseTo(-903.9741, 2);
  });
});

describe('chi-square with one degree of freedom', () => {
  it('returns the textbook p-values at the 5 % and 0.1 % critical values', () => {
    expect(chiSquare1Survival(3.841459)).toBeCloseTo(0.05, 6);
    expect(chiSquare1Survival(10.827566) / 0.001).toBeCloseTo(1, 5);
    expect(chiSquare1Survival(0)).toBe(1);
  });
});

describe('log-gamma', () => {
  it('matches factorials and Γ(½) = √π', () => {
    expect(logGamma(5)).toBeCloseTo(Math.log(24), 12);
    expect(logGamma(171)).toBeCloseTo(706.5730622457874, 9);
    expect(logGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 12);
    expect(logBeta(2, 58)).toBeCloseTo(-Math.log(58 * 59), 12);
  });
});
