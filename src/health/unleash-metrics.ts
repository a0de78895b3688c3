// Unleash client metrics (exposure counts and impact metrics, as unleash-client 6 posts them) as signal records.
import { flagNamePattern } from '../plans/schema.ts';
import type { IntervalRecord, LatencyHistogram } from './signal-schema.ts';

/**
 * The impact-metric convention. Counters and histograms carry the flag and arm either as labels
 * `flag` and `arm` (arm: treatment | control | a variant; enabled and disabled are read as treatment and
 * control), or the way the SDK labels them itself when given a flag context: one label per flag, named
 * after the flag, valued enabled | disabled | the variant name.
 */
export const impactCounters: Record<string, 'requests' | 'errors' | 'conversions' | 'revenue' | 'units'> = {
  rollgate_requests_total: 'requests',
  rollgate_errors_total: 'errors',
  rollgate_conversions_total: 'conversions',
  rollgate_revenue_total: 'revenue',
  rollgate_units_total: 'units',
};
/** Latency histograms and the factor that turns their unit into milliseconds. */
export const impactHistograms: Record<string, number> = {
  rollgate_latency_ms: 1,
  rollgate_latency_seconds: 1000,
};

/** Labels the SDK adds to every sample from its static context: never flag names. */
const contextLabels = new Set(['appName', 'environment', 'instanceId']);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const amount = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;

const armOf = (value: string): string =>
  value === 'enabled' ? 'treatment' : value === 'disabled' ? 'control' : value;

function flagArms(labels: unknown): Array<{ flag: string; arm: string }> {
  if (!isObj(labels)) return [];
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const flag = text(labels.flag);
  if (flag !== undefined) {
    const arm = text(labels.arm) ?? text(labels.variant);
    return flagNamePattern.test(flag) && arm ? [{ flag, arm: armOf(arm) }] : [];
  }
  return Object.entries(labels).flatMap(([key, value]) => {
    const arm = text(value);
    return !contextLabels.has(key) && flagNamePattern.test(key) && arm
      ? [{ flag: key, arm: armOf(arm) }]
      : [];
  });
}

/** A histogram sample as the SDK collects it (cumulative buckets ending at "+Inf"), scaled to ms; else undefined. */
function histogramOf(sample: Obj, scale: number): LatencyHistogram | undefined {
  const count = amount(sample.count);
  const sum = amount(sample.sum);
  if (count === undefined || sum === undefined || count === 0 || !Array.isArray(sample.buckets))
    return undefined;
  const buckets: NonNullable<LatencyHistogram['buckets']> = [];
  let previous = { le: 0, count: 0 };
  for (const b of sample.buckets) {
    if (!isObj(b)) return undefined;
    const c = amount(b.count);
    const le = b.le === '+Inf' ? Number.POSITIVE_INFINITY : amount(b.le);
    if (c === undefined || le === undefined || le <= previous.le || c < previous.count || c > count)
      return undefined;
    buckets.push({ le: le === Number.POSITIVE_INFINITY ? '+Inf' : le * scale, count: c });
    previous = { le, count: c };
  }
  return { count, sum: sum * scale, buckets };
}

const sameBounds = (a: LatencyHistogram, b: LatencyHistogram) =>
  a.buckets?.length === b.buckets?.length && (a.buckets ?? []).every((x, i) => x.le === b.buckets?.[i]?.le);

function addHistogram(into: LatencyHistogram, h: LatencyHistogram): LatencyHistogram {
  return {
    count: into.count + h.count,
    sum: into.sum + h.sum,
    buckets: (into.buckets ?? []).map((b, i) => ({
      le: b.le,
      count: b.count + (h.buckets?.[i]?.count ?? 0),
    })),
  };
}

/**
 * Turns one metrics payload into interval records at the bucket's start. Tolerant by design: whatever the SDK
 * could send is accepted, and what Rollgate cannot use (unknown metrics, gauges, malformed samples) is skipped.
 */
export function unleashMetricsToRecords(
  payload: unknown,
  now: number,
  onUnattributed?: (metric: string) => void,
): IntervalRecord[] {
  if (!isObj(payload)) return [];
  const bucket = isObj(payload.bucket) ? payload.bucket : {};
  const started = typeof bucket.start === 'string' ? Date.parse(bucket.start) : Number.NaN;
  const at = Number.isFinite(started) && started > 0 ? started : now;
  const byArm = new Map<string, IntervalRecord>();
  const extra: IntervalRecord[] = [];
  const recordFor = (flag: string, arm: string) => {
    const key = `${flag}\u0000${arm}`;
    const found = byArm.get(key);
    if (found) return found;
    const r: IntervalRecord = { flag, arm, at };
    byArm.set(key, r);
    return r;
  };

  const toggles = isObj(bucket.toggles) ? bucket.toggles : {};
  for (const [flag, t] of Object.entries(toggles)) {
    if (!flagNamePattern.test(flag) || !isObj(t)) continue;
    let inVariants = 0;
    for (const [variant, n] of Object.entries(isObj(t.variants) ? t.variants : {})) {
      const c = amount(n);
      // The SDK counts "disabled" when no variant applies, including for plain enabled flags.
      if (variant === 'disabled' || !c) continue;
      recordFor(flag, variant).exposures = c;
      inVariants += c;
    }
    const yes = (amount(t.yes) ?? 0) - inVariants;
    const no = amount(t.no) ?? 0;
    if (yes > 0) recordFor(flag, 'treatment').exposures = yes;
    if (no > 0) recordFor(flag, 'control').exposures = no;
  }

  for (const metric of Array.isArray(payload.impactMetrics) ? payload.impactMetrics : []) {
    if (!isObj(metric) || typeof metric.name !== 'string' || !Array.isArray(metric.samples)) continue;
    const field = metric.type === 'counter' ? impactCounters[metric.name] : undefined;
    const scale = metric.type === 'histogram' ? impactHistograms[metric.name] : undefined;
    if (!field && !scale) continue;
    for (const sample of metric.samples) {
      if (!isObj(sample)) continue;
      const value = field ? amount(sample.value) : undefined;
      const histogram = scale ? histogramOf(sample, scale) : undefined;
      if (!(field && value) && !histogram) continue;
      const arms = flagArms(sample.labels);
      if (!arms.length) onUnattributed?.(metric.name);
      for (const { flag, arm } of arms) {
        const r = recordFor(flag, arm);
        if (field && value) r[field] = (r[field] ?? 0) + value;
        if (!histogram) continue;
        if (!r.latencyMs) r.latencyMs = histogram;
        else if (sameBounds(r.latencyMs, histogram)) r.latencyMs = addHistogram(r.latencyMs, histogram);
        else extra.push({ flag, arm, at, latencyMs: histogram });
      }
    }
  }
  return [...byArm.values(), ...extra];
}
