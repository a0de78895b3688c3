// Absolute limits: the mixture martingale by hand, the three statuses, and validity at the limit itself.
import { describe, expect, it } from 'vitest';
import {
  initSlo,
  logMixtureRatio,
  rateConfidenceSequence,
  sloVerdict,
  updateSlo,
} from '../../../src/health/detectors/slo-bound.ts';
import { createRng } from '../../../src/prng.ts';

const limit = 0.02;

describe('the beta-binomial mixture', () => {
  it('matches the hand computation', () => {
    // Prior Beta(1, 49) for a 2 % limit; 1 event in 10 units, p = 0.02:
    // ln B(2, 58) − ln B(1, 49) − ln 0.02 − 9·ln 0.98 = ln(49/3422) + 3.912023 + 0.181824 = −0.152313.
    expect(logMixtureRatio(1, 10, 0.02, limit)).toBeCloseTo(-0.152313, 6);
  });

  it('brackets the observed rate with an interval that narrows with data', () => {
    const small = rateConfidenceSequence(5, 500, 0.01, limit);
    const large = rateConfidenceSequence(500, 50_000, 0.01, limit);
    for (const cs of [small, large]) {
      expect(cs.lower).toBeLessThan(0.01);
      expect(cs.upper).toBeGreaterThan(0.01);
    }
    expect(large.upper - large.lower).toBeLessThan((small.upper - small.lower) / 5);
  });
});

describe('the SLO guardrail', () => {
  it('is insufficient-data with few requests, healthy well below the limit, regressed well above', () => {
    const start = initSlo({ limit, worse: 'higher', alpha: 0.01 });
    expect(sloVerdict(updateSlo(start, { units: 50, events: 1 })).status).toBe('insufficient-data');
    expect(sloVerdict(updateSlo(start, { units: 5000, events: 25 })).status).toBe('healthy');
    const bad = updateSlo(start, { units: 2000, events: 200 });
    const v = sloVerdict(bad);
    expect(v.status).toBe('regressed');
    expect(v.evidence.interval.lower).toBeGreaterThan(limit);
  });

  it('lets a rate just under the limit pass once a breach would have shown, not before', () => {
    const start = initSlo({ limit, worse: 'higher', alpha: 0.01 });
    // 500 units = 10 expected events at 2 %: the interval still straddles the limit, the observed rate does not.
    const close = sloVerdict(updateSlo(start, { units: 500, events: 8 }));
    expect(close.evidence.interval.upper).toBeGreaterThan(limit);
    expect(close.status).toBe('healthy');
    expect(close.summary).toMatch(/observed within the limit over 500 units/);
    expect(sloVerdict(updateSlo(start, { units: 499, events: 8 })).status).toBe('insufficient-data');
    expect(sloVerdict(updateSlo(start, { units: 500, events: 11 })).status).toBe('insufficient-data');
  });

  it('holds a minimum too: a success rate that must stay at or above 99 %', () => {
    const s = updateSlo(initSlo({ limit: 0.99, worse: 'lower', alpha: 0.01 }), { units: 5000, events: 4800 });
    expect(sloVerdict(s).status).toBe('regressed');
  });

  it('rarely fires when the rate sits exactly at the limit, however often it looks', () => {
    const seeds = 300;
    const alpha = 0.05;
    let fired = 0;
    for (let seed = 0; seed < seeds; seed++) {
      const rng = createRng(31, seed);
      let s = initSlo({ limit, worse: 'higher', alpha });
      for (let k = 0; k < 200 && !s.alarm; k++)
        s = updateSlo(s, { units: 50, events: rng.binomial(50, limit) });
      if (s.alarm) fired++;
    }
    expect(fired / seeds).toBeLessThanOrEqual(alpha + 3 * Math.sqrt((alpha * (1 - alpha)) / seeds));
  });
});
