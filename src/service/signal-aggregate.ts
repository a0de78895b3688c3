// Per flag, arm and interval sums of the service's outcomes, shaped as Rollgate's pre-aggregated signal records.

/**
 * Latency bucket bounds in ms, 2^(k/4) from 1 ms to 65 s (cumulative counts are sent, Prometheus-style, ending
 * at +Inf). Bounds 19 % apart keep a tail threshold close to the quantile it stands for; coarse buckets put it
 * far out in the tail, where too few requests fall for the tail test to say anything soon.
 */
export const latencyBoundsMs = Array.from({ length: 65 }, (_, k) => Math.round(2 ** (k / 4) * 1000) / 1000);

export interface Outcome {
  flag: string;
  /** treatment, control, or a variant name. */
  arm: string;
  /** The value of the context field the service segments by (its region), when known and storable. */
  segment?: string | undefined;
  /** The user (or tenant) this outcome belongs to: units are distinct ids. */
  unit?: string;
  /** A request served in this arm; `error` marks it failed. */
  request?: boolean;
  error?: boolean;
  latencyMs?: number;
  /** The unit was shown the change (an offer): counts it as exposed. */
  exposed?: boolean;
  conversion?: boolean;
  revenue?: number;
}

export interface IntervalAggregate {
  flag: string;
  arm: string;
  segment: string | undefined;
  start: number;
  requests: number;
  errors: number;
  latency: { count: number; sum: number; sumSquares: number; buckets: number[] };
  conversions: number;
  /** Revenue per unit id, so each unit's total can be capped and squared. */
  revenueByUnit: Map<string, number>;
  exposed: Set<string>;
  hasRequests: boolean;
  hasCommerce: boolean;
}

export function emptyAggregate(
  flag: string,
  arm: string,
  start: number,
  segment?: string,
): IntervalAggregate {
  return {
    flag,
    arm,
    segment,
    start,
    requests: 0,
    errors: 0,
    latency: { count: 0, sum: 0, sumSquares: 0, buckets: latencyBoundsMs.map(() => 0) },
    conversions: 0,
    revenueByUnit: new Map(),
    exposed: new Set(),
    hasRequests: false,
    hasCommerce: false,
  };
}

export function addOutcome(a: IntervalAggregate, o: Outcome): void {
  if (o.request) {
    a.hasRequests = true;
    a.requests += 1;
    if (o.error) a.errors += 1;
  }
  if (o.latencyMs !== undefined) {
    const ms = Math.max(0, o.latencyMs);
    a.latency.count += 1;
    a.latency.sum += ms;
    a.latency.sumSquares += ms * ms;
    const i = latencyBoundsMs.findIndex((le) => ms <= le);
    if (i >= 0) a.latency.buckets[i] = (a.latency.buckets[i] ?? 0) + 1;
  }
  const unit = o.unit ?? '';
  if (o.exposed) {
    a.hasCommerce = true;
    a.exposed.add(unit);
  }
  if (o.conversion) {
    a.hasCommerce = true;
    a.conversions += 1;
  }
  if (o.revenue !== undefined) {
    a.hasCommerce = true;
    a.revenueByUnit.set(unit, (a.revenueByUnit.get(unit) ?? 0) + o.revenue);
  }
}

/**
 * The record POST /api/signals accepts. Revenue is capped per unit before summing (the plan's cap, fixed before
 * the rollout), and its squares go along so the revenue test can estimate variance.
 */
export function toSignalRecord(a: IntervalAggregate, revenueCap: number): Record<string, unknown> {
  const record: Record<string, unknown> = { flag: a.flag, arm: a.arm, at: new Date(a.start).toISOString() };
  // A segmented record counts in its segment and in the whole population: each outcome is in one record only.
  if (a.segment !== undefined) record.segment = a.segment;
  if (a.hasRequests) {
    record.requests = a.requests;
    record.errors = a.errors;
  }
  if (a.latency.count > 0) {
    let cumulative = 0;
    const buckets: Array<{ le: number | '+Inf'; count: number }> = latencyBoundsMs.map((le, i) => {
      cumulative += a.latency.buckets[i] ?? 0;
      return { le, count: cumulative };
    });
    buckets.push({ le: '+Inf', count: a.latency.count });
    record.latencyMs = {
      count: a.latency.count,
      sum: a.latency.sum,
      sumSquares: a.latency.sumSquares,
      buckets,
    };
  }
  if (a.hasCommerce) {
    let revenue = 0;
    let revenueSquares = 0;
    for (const r of a.revenueByUnit.values()) {
      const capped = Math.min(r, revenueCap);
      revenue += capped;
      revenueSquares += capped * capped;
    }
    record.units = a.exposed.size;
    record.conversions = a.conversions;
    record.revenue = revenue;
    record.revenueSquares = revenueSquares;
  }
  return record;
}
