// What the simulated service's metrics reporter sends each minute per arm: request and error counts, a latency histogram on the product's bounds, conversions and capped revenue per visit.

import type { Rng } from '../../prng.ts';
import { normalCdf } from '../detectors/distributions.ts';
import { defaultLatencyBoundsMs } from '../series.ts';
import type { IntervalRecord } from '../signal-schema.ts';
import { type ArmBehaviour, cappedRevenue, service } from './traffic.ts';

/**
 * Every second product bound, 2^(k/2) ms from 16 ms to 4.1 s (17 buckets and +Inf, ×1.41 apart): what a service
 * exporting a histogram on the product's bounds would keep, and few enough rows to re-read a day each minute.
 */
export const reporterBoundsMs: readonly number[] = defaultLatencyBoundsMs.filter(
  (b, k) => k % 2 === 0 && b >= 16 && b <= 4096,
);

/** One arm's minute as the service saw it. */
export interface ArmMinute {
  requests: number;
  /** Failed requests (what the reporter counts). */
  errors: number;
  /** Distinct error incidents (a burst of retries from one user is one). */
  incidents: number;
  /** Requests per bucket: bins[i] in (bound[i−1], bound[i]], the last entry above the last bound. */
  bins: number[];
  latencySumMs: number;
  conversions: number;
  revenue: number;
  revenueSquares: number;
}

const lognormalMoments = (mu: number, s: number) => ({
  mean: Math.exp(mu + (s * s) / 2),
  variance: (Math.exp(s * s) - 1) * Math.exp(2 * mu + s * s),
});

const binCache = new Map<number, number[]>();
/** Probability of each bucket for log-latency N(μ + shift, σ). */
function binProbabilities(shift: number): number[] {
  let p = binCache.get(shift);
  if (p) return p;
  const cdf = (ms: number) => normalCdf((Math.log(ms) - service.latencyMu - shift) / service.latencySigma);
  let below = 0;
  p = reporterBoundsMs.map((b) => {
    const c = cdf(b);
    const mass = c - below;
    below = c;
    return mass;
  });
  p.push(1 - below);
  binCache.set(shift, p);
  return p;
}

/** m requests spread over the buckets (a multinomial by conditional binomials), with the sum of their latencies. */
function latencyPart(rng: Rng, m: number, shift: number, into: number[]): number {
  if (m <= 0) return 0;
  const probabilities = binProbabilities(shift);
  let left = m;
  let mass = 1;
  for (let i = 0; i < probabilities.length && left > 0; i++) {
    const p = probabilities[i] as number;
    const n = i === probabilities.length - 1 ? left : rng.binomial(left, Math.min(1, p / mass));
    into[i] = (into[i] as number) + n;
    left -= n;
    mass -= p;
  }
  const { mean, variance } = lognormalMoments(service.latencyMu + shift, service.latencySigma);
  return Math.max(0, m * mean + Math.sqrt(m * variance) * rng.normal());
}

/** Draws one minute of an arm with `expectedRequests` Poisson traffic. */
export function simulateArmMinute(rng: Rng, expectedRequests: number, b: ArmBehaviour): ArmMinute {
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
  const bins = new Array<number>(reporterBoundsMs.length + 1).fill(0);
  const slow = b.slowFraction > 0 ? rng.binomial(requests, b.slowFraction) : 0;
  const latencySumMs =
    latencyPart(rng, requests - slow, b.latencyShift, bins) +
    latencyPart(rng, slow, b.latencyShift + b.slowShift, bins);
  const conversions = rng.binomial(requests, b.conversionRate);
  const revenue = cappedRevenue(rng, conversions);
  return {
    requests,
    errors,
    incidents,
    bins,
    latencySumMs,
    conversions,
    revenue: revenue.sum,
    revenueSquares: revenue.sumSq,
  };
}

export interface ReportOptions {
  /** Send incidents as `errors` (users with an error, as DETECTION.md advises where bursts are likely). */
  countIncidents?: boolean;
  /** Include conversions and revenue per visit (the experiment plan's guardrails). */
  outcomes?: boolean;
  /** Include the latency histogram (default true). */
  latency?: boolean;
}

/** The signal record the reporter posts for one arm and minute (POST /api/signals format). */
export function toRecord(
  flag: string,
  arm: 'treatment' | 'control',
  at: number,
  m: ArmMinute,
  opts: ReportOptions = {},
): IntervalRecord {
  let cumulative = 0;
  const buckets: { le: number | '+Inf'; count: number }[] = reporterBoundsMs.map((le, i) => {
    cumulative += m.bins[i] as number;
    return { le, count: cumulative };
  });
  buckets.push({ le: '+Inf', count: m.requests });
  const record: IntervalRecord = {
    flag,
    arm,
    at,
    requests: m.requests,
    errors: opts.countIncidents ? m.incidents : m.errors,
  };
  if (opts.latency !== false) record.latencyMs = { count: m.requests, sum: m.latencySumMs, buckets };
  if (opts.outcomes) {
    record.units = m.requests;
    record.conversions = m.conversions;
    record.revenue = m.revenue;
    record.revenueSquares = m.revenueSquares;
  }
  return record;
}

/**
 * Prometheus' histogram_quantile over these buckets: linear interpolation inside the bucket holding rank q·n,
 * the last finite bound when it falls in +Inf; null without observations (Flagger: "no values found").
 */
export function histogramQuantile(bins: readonly number[], q: number): number | null {
  const total = bins.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < reporterBoundsMs.length; i++) {
    const n = bins[i] as number;
    if (below + n >= rank) {
      const lower = i === 0 ? 0 : (reporterBoundsMs[i - 1] as number);
      const upper = reporterBoundsMs[i] as number;
      return n === 0 ? upper : lower + ((upper - lower) * (rank - below)) / n;
    }
    below += n;
  }
  return reporterBoundsMs.at(-1) as number;
}
