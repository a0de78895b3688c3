// The simulated service: baseline rates, how an arm behaves (healthy or regressed), and capped revenue drawn from its exact sampling distribution.

import { defaultBaseline } from '../../audit/power.ts';
import type { Rng } from '../../prng.ts';
import { normalCdf } from '../detectors/distributions.ts';

/**
 * The service being simulated: baseline rates, fixed before any rollout — the power audit's default baseline
 * (errors 0.5 %, latency lognormal median 100 ms σ 0.5, conversions 5 %, revenue per purchase lognormal median 30
 * σ 0.8), so the benchmark's detection times and the audit's compare.
 */
export const service = {
  requestsPerMinute: 1000,
  errorRate: defaultBaseline.errorRate,
  latencyMu: defaultBaseline.latencyMu,
  latencySigma: defaultBaseline.latencySigma,
  conversionRate: defaultBaseline.conversionRate,
  revenueMu: defaultBaseline.revenueMu,
  revenueSigma: defaultBaseline.revenueSigma,
  /** Revenue is capped per user at 200 (the pricing plan's cap). */
  revenueCap: 200,
  /** Errors in bursts: each incident is 3–10 errors (mean 6.5) from one user's retries. */
  burstMin: 3,
  burstMax: 10,
};

export interface ArmBehaviour {
  errorRate: number;
  bursty: boolean;
  /** Added to every request's log-latency (ln 1.2 for +20 %). */
  latencyShift: number;
  /** Share of requests that take a slow path, and the log-latency it adds (tail-only regressions). */
  slowFraction: number;
  slowShift: number;
  conversionRate: number;
  /** Share of the arm's requests that reach the metrics pipeline (below 1: an arm that stops reporting). */
  reported: number;
}

export const healthy: ArmBehaviour = {
  errorRate: service.errorRate,
  bursty: false,
  latencyShift: 0,
  slowFraction: 0,
  slowShift: 0,
  conversionRate: service.conversionRate,
  reported: 1,
};

// E[min(X, cap)^j] for lognormal X: the uncapped part below the cap plus cap^j times the mass above it.
function cappedMoment(j: number): number {
  const { revenueMu: mu, revenueSigma: s, revenueCap: cap } = service;
  const z = (Math.log(cap) - mu) / s;
  return Math.exp(j * mu + (j * j * s * s) / 2) * normalCdf(z - j * s) + cap ** j * (1 - normalCdf(z));
}

const revenueMoments = [1, 2, 3, 4].map(cappedMoment) as [number, number, number, number];

/** Mean capped revenue per visit (request) at the baseline conversion rate. */
export const revenuePerVisit = service.conversionRate * revenueMoments[0];
// Capped revenue over k purchases: exact draws for few, a bivariate normal with the exact first four
// moments for many (the sums of y and y² are what the mean test reads).
export function cappedRevenue(rng: Rng, k: number): { sum: number; sumSq: number } {
  if (k < 30) {
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < k; i++) {
      const y = Math.min(
        service.revenueCap,
        Math.exp(service.revenueMu + service.revenueSigma * rng.normal()),
      );
      sum += y;
      sumSq += y * y;
    }
    return { sum, sumSq };
  }
  const [m1, m2, m3, m4] = revenueMoments;
  const v11 = m2 - m1 * m1;
  const v12 = m3 - m1 * m2;
  const v22 = m4 - m2 * m2;
  const l11 = Math.sqrt(k * v11);
  const l21 = (k * v12) / l11;
  const l22 = Math.sqrt(Math.max(0, k * v22 - l21 * l21));
  const z1 = rng.normal();
  const z2 = rng.normal();
  const sum = k * m1 + l11 * z1;
  const sumSq = Math.max(k * m2 + l21 * z1 + l22 * z2, (sum * sum) / k);
  return { sum, sumSq };
}
