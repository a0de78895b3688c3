// One simulated minute of one arm: Poisson requests, errors (independent or in bursts), lognormal latency, conversions and capped revenue, drawn from their exact sampling distributions.
import { normalCdf } from '../detectors/distributions.ts';
import type { MeanStats } from '../detectors/mean-test.ts';
import type { Rng } from './prng.ts';

/** The service being simulated: baseline rates, fixed before any rollout. */
export const service = {
  requestsPerMinute: 1000,
  errorRate: 0.005,
  /** Log-latency in ms: median 100 ms, σ = 0.5 (DETECTION.md §3). */
  latencyMu: Math.log(100),
  latencySigma: 0.5,
  conversionRate: 0.05,
  /** Revenue per purchase: lognormal, median 30, σ = 0.8, capped per user at 200 (the pricing plan's cap). */
  revenueMu: Math.log(30),
  revenueSigma: 0.8,
  revenueCap: 200,
  /** Errors in bursts: each incident is 3–10 errors (mean 6.5) from one user's retries. */
  burstMin: 3,
  burstMax: 10,
  /** Flagger's built-in request-duration check: P99 at most 500 ms. */
  flaggerLatencyMs: 500,
};

/** Tail thresholds fixed from control's history, its p95 and p99; the service's histogram has bounds there. */
export const thresholds = {
  c95: Math.exp(service.latencyMu + 1.6448536 * service.latencySigma),
  c99: Math.exp(service.latencyMu + 2.3263479 * service.latencySigma),
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

export interface ArmTick {
  requests: number;
  /** Raw error responses, what a request-level error rate counts. */
  errors: number;
  /** Distinct error incidents (a burst is one): what the product is fed where bursts are likely. */
  incidents: number;
  logLatency: MeanStats;
  over95: number;
  over99: number;
  overFlagger: number;
  conversions: MeanStats;
  revenue: MeanStats;
}

function tailProbabilities(shift: number) {
  const above = (ms: number) =>
    1 - normalCdf((Math.log(ms) - service.latencyMu - shift) / service.latencySigma);
  return {
    p95: above(thresholds.c95),
    p99: above(thresholds.c99),
    pFlagger: above(service.flaggerLatencyMs),
  };
}

// E[min(X, cap)^j] for lognormal X: the uncapped part below the cap plus cap^j times the mass above it.
function cappedMoment(j: number): number {
  const { revenueMu: mu, revenueSigma: s, revenueCap: cap } = service;
  const z = (Math.log(cap) - mu) / s;
  return Math.exp(j * mu + (j * j * s * s) / 2) * normalCdf(z - j * s) + cap ** j * (1 - normalCdf(z));
}

const revenueMoments = [1, 2, 3, 4].map(cappedMoment) as [number, number, number, number];

/** Mean capped revenue per visit (request) at the baseline conversion rate. */
export const revenuePerVisit = service.conversionRate * revenueMoments[0];
const tailCache = new Map<number, ReturnType<typeof tailProbabilities>>();
function tails(shift: number) {
  let t = tailCache.get(shift);
  if (!t) {
    t = tailProbabilities(shift);
    tailCache.set(shift, t);
  }
  return t;
}

/** Draws one minute of an arm with `expectedRequests` Poisson traffic. */
export function simulateArm(rng: Rng, expectedRequests: number, b: ArmBehaviour): ArmTick {
  const requests = rng.poisson(expectedRequests * b.reported);
  let errors: number;
  let incidents: number;
  if (b.bursty) {
    const meanBurst = (service.burstMin + service.burstMax) / 2;
    incidents = rng.binomial(requests, b.errorRate / meanBurst);
    errors = 0;
    for (let i = 0; i < incidents; i++) errors += rng.integer(service.burstMin, service.burstMax);
    errors = Math.min(errors, requests);
  } else {
    errors = rng.binomial(requests, b.errorRate);
    incidents = errors;
  }
  const slow = b.slowFraction > 0 ? rng.binomial(requests, b.slowFraction) : 0;
  const fast = latencyPart(rng, requests - slow, b.latencyShift);
  const slowPart = latencyPart(rng, slow, b.latencyShift + b.slowShift);
  const conversions = rng.binomial(requests, b.conversionRate);
  return {
    requests,
    errors,
    incidents,
    logLatency: {
      count: requests,
      sum: fast.sum + slowPart.sum,
      sumSq: fast.sumSq + slowPart.sumSq,
      nonZero: requests,
    },
    over95: fast.over95 + slowPart.over95,
    over99: fast.over99 + slowPart.over99,
    overFlagger: fast.overFlagger + slowPart.overFlagger,
    conversions: { count: requests, sum: conversions, sumSq: conversions, nonZero: conversions },
    revenue: { count: requests, ...revenue(rng, conversions), nonZero: conversions },
  };
}

// Σx = mμ + σ√m·Z and Σx² = σ²·χ²_{m−1} + (Σx)²/m for m normal log-latencies; exceedances nested by
// conditional binomials (above p99 is a subset of above p95), drawn independently of the sums, which only
// makes the mean and tail tests' false alarms less correlated than in life (a conservative union).
function latencyPart(rng: Rng, m: number, shift: number) {
  if (m <= 0) return { sum: 0, sumSq: 0, over95: 0, over99: 0, overFlagger: 0 };
  const mu = service.latencyMu + shift;
  const sigma = service.latencySigma;
  const sum = m * mu + sigma * Math.sqrt(m) * rng.normal();
  const sumSq = sigma * sigma * 2 * rng.gamma((m - 1) / 2) + (sum * sum) / m;
  const t = tails(shift);
  const over95 = rng.binomial(m, t.p95);
  const over99 = rng.binomial(over95, t.p99 / t.p95);
  const overFlagger = rng.binomial(over99, t.pFlagger / t.p99);
  return { sum, sumSq, over95, over99, overFlagger };
}

// Capped revenue over k purchases: exact draws for few, a bivariate normal with the exact first four
// moments for many (the sums of y and y² are what the mean test reads).
function revenue(rng: Rng, k: number): { sum: number; sumSq: number } {
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
