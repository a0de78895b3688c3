// Latency tails: exceedance counts from histograms, cumulative or not, and thresholds fixed from history.
import { describe, expect, it } from 'vitest';
import { countExceedances, tailThreshold } from '../../../src/health/detectors/tail-exceedance.ts';

// Buckets (0,50], (50,100], (100,200], (200,400], (400,+Inf] holding 10, 40, 30, 15, 5 observations.
const bounds = [50, 100, 200, 400, Number.POSITIVE_INFINITY];
const perBucket = { bounds, counts: [10, 40, 30, 15, 5], cumulative: false };
const prometheus = { bounds, counts: [10, 50, 80, 95, 100], cumulative: true };

describe('countExceedances', () => {
  it('counts exactly when the threshold is a bucket bound', () => {
    expect(countExceedances(perBucket, 200)).toEqual({ count: 20, total: 100, exact: true });
    expect(countExceedances(prometheus, 200)).toEqual({ count: 20, total: 100, exact: true });
  });

  it('splits the straddled bucket linearly', () => {
    // 300 sits halfway through (200, 400]: half of its 15, plus the 5 above 400.
    expect(countExceedances(prometheus, 300)).toEqual({ count: 12.5, total: 100, exact: false });
    // 75 sits halfway through (50, 100]: 20 + 30 + 15 + 5.
    expect(countExceedances(perBucket, 75).count).toBe(70);
  });

  it('counts a straddled +Inf bucket whole, and says the count is not exact', () => {
    expect(countExceedances(perBucket, 1000)).toEqual({ count: 5, total: 100, exact: false });
  });
});

describe('tailThreshold', () => {
  it('picks the smallest bucket bound holding the quantile of control history', () => {
    expect(tailThreshold(prometheus, 0.8)).toBe(200);
    expect(tailThreshold(perBucket, 0.95)).toBe(400);
    expect(tailThreshold(perBucket, 0.5)).toBe(100);
  });

  it('returns null when the quantile lies in the +Inf bucket or there is no history', () => {
    expect(tailThreshold(perBucket, 0.99)).toBeNull();
    expect(tailThreshold({ bounds, counts: [0, 0, 0, 0, 0], cumulative: false }, 0.95)).toBeNull();
  });
});
