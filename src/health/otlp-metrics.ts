// OTLP metrics → per-arm signal records: http.server.request.duration points that carry feature-flag attributes.
import { createCumulativeStreams, type HistogramDelta } from './cumulative-streams.ts';
import type { OtlpHistogramPoint, OtlpKeyValue, OtlpMetricsRequest } from './otlp-wire.ts';
import { temporality } from './otlp-wire.ts';
import { type IntervalRecord, intervalRecordSchema, isSegment, maxFutureMs } from './signal-schema.ts';

/** The OpenTelemetry semantic conventions Rollgate reads (feature-flag and HTTP server). */
export const otelNames = {
  duration: 'http.server.request.duration',
  flagKey: 'feature_flag.key',
  /** Current convention first, then the older name still sent by some providers. */
  variant: ['feature_flag.result.variant', 'feature_flag.variant'],
  value: 'feature_flag.result.value',
  status: 'http.response.status_code',
  errorType: 'error.type',
} as const;

/** The arms a flag's signals may name (treatment, control, its variants); undefined for an unknown flag. */
export type ArmsOf = (flag: string) => readonly string[] | undefined;

export interface OtlpMapping {
  records: IntervalRecord[];
  /** Points naming a flag that could not be attributed (unknown flag or variant), with the first reasons. */
  rejected: number;
  reasons: string[];
  /** Points that only set a cumulative baseline (first sight of a stream that started before we watched). */
  baselines: number;
}

const attr = (attrs: readonly OtlpKeyValue[], key: string) => attrs.find((a) => a.key === key)?.value;
const str = (attrs: readonly OtlpKeyValue[], key: string) => {
  const v = attr(attrs, key);
  if (v?.stringValue !== undefined) return v.stringValue;
  if (v?.intValue !== undefined) return v.intValue;
  if (v?.boolValue !== undefined) return String(v.boolValue);
  return undefined;
};

/**
 * The arm of a variant as a sender names it: the arm itself (treatment, control, a plan variant), or what
 * Rollgate's own OFREP answers: "on"/"off" for a boolean flag, "disabled" (not served) for a variant flag.
 */
export function armOf(
  arms: readonly string[],
  attrs: readonly OtlpKeyValue[],
  variantKeys: readonly string[] = otelNames.variant,
): string | { reason: string } {
  const variant = variantKeys.map((k) => str(attrs, k)).find((v) => v !== undefined && v !== '');
  const hasVariants = arms.length > 2;
  if (variant !== undefined) {
    if (arms.includes(variant)) return variant;
    if (!hasVariants && (variant === 'on' || variant === 'off'))
      return variant === 'on' ? 'treatment' : 'control';
    if (hasVariants && variant === 'disabled') return 'control';
    return { reason: `variant "${variant}" is not an arm (${arms.join(', ')})` };
  }
  const value = attr(attrs, otelNames.value)?.boolValue;
  if (value !== undefined && !hasVariants) return value ? 'treatment' : 'control';
  return { reason: `no ${otelNames.variant[0]} attribute` };
}

const isError = (attrs: readonly OtlpKeyValue[]) => {
  const status = Number(str(attrs, otelNames.status));
  return (Number.isFinite(status) && status >= 500) || Boolean(str(attrs, otelNames.errorType));
};

const sortedAttrs = (attrs: readonly OtlpKeyValue[]) =>
  JSON.stringify([...attrs].sort((a, b) => (a.key < b.key ? -1 : 1)).map((a) => [a.key, a.value]));

/** Seconds (the convention) or milliseconds, by the metric's unit. */
const msPer = (unit: string) => (unit === 'ms' ? 1 : 1000);

/** The interval record for one delta: the minute is where the middle of the covered interval falls. */
function recordOf(
  flag: string,
  arm: string,
  segment: string | undefined,
  error: boolean,
  d: HistogramDelta,
  scale: number,
): unknown {
  const mid = (d.from + d.to) / 2n;
  const at = Number(mid / 1_000_000n);
  let cumulative = 0;
  const buckets: Array<{ le: number | '+Inf'; count: number }> = [];
  d.bounds.forEach((bound, i) => {
    cumulative += d.bucketCounts[i] ?? 0;
    // A bound at or below zero only splits off instant requests: folded into the next bucket.
    if (bound > 0) buckets.push({ le: bound * scale, count: cumulative });
  });
  buckets.push({ le: '+Inf', count: d.count });
  return {
    flag,
    arm,
    ...(segment === undefined ? {} : { segment }),
    at,
    requests: d.count,
    errors: error ? d.count : 0,
    latencyMs: { count: d.count, sum: d.sum * scale, buckets },
  };
}

/** Attribute names a plan configured (`rollout.opentelemetry`), by flag name. */
export type OtelAttributeNames = ReadonlyMap<
  string,
  {
    flag?: string | undefined;
    variant?: string | undefined;
    /** The plan's `by:` field: an attribute of that name is the point's segment (region, tenant…). */
    segment?: string | undefined;
  }
>;

/** The flag a point is about: feature_flag.key, or the value of an attribute some plan named for itself. */
function flagOf(attrs: readonly OtlpKeyValue[], names: OtelAttributeNames) {
  const keys = (own: string | undefined) => [own, ...otelNames.variant].filter((k): k is string => !!k);
  const key = str(attrs, otelNames.flagKey);
  if (key)
    return { flag: key, variantKeys: keys(names.get(key)?.variant), segmentKey: names.get(key)?.segment };
  for (const [flag, n] of names) {
    if (n.flag && str(attrs, n.flag) === flag)
      return { flag, variantKeys: keys(n.variant), segmentKey: n.segment };
  }
  return undefined;
}

export function createOtlpMetricsMapper(deps: {
  arms: ArmsOf;
  nowNs: () => bigint;
  maxStreams?: number;
  attributeNames?: (() => OtelAttributeNames) | undefined;
}) {
  const streams = createCumulativeStreams(deps);
  let names: OtelAttributeNames = new Map();

  function mapPoint(
    out: OtlpMapping,
    streamKey: string,
    p: OtlpHistogramPoint,
    cumulative: boolean,
    unit: string,
  ) {
    const found = flagOf(p.attributes, names);
    // Points without a flag are ordinary service metrics: not ours to judge, and not an error.
    if (!found) return;
    const { flag, variantKeys, segmentKey } = found;
    const reject = (reason: string) => {
      out.rejected++;
      if (out.reasons.length < 3) out.reasons.push(`${flag}: ${reason}`);
    };
    const arms = deps.arms(flag);
    if (!arms) return reject('no flag with that name has a plan');
    const arm = armOf(arms, p.attributes, variantKeys);
    if (typeof arm !== 'string') return reject(arm.reason);
    const segment = segmentKey === undefined ? undefined : str(p.attributes, segmentKey);
    if (segment !== undefined && !isSegment(segment))
      return reject(
        `${segmentKey} "${segment.slice(0, 100)}" is not a segment value (letters, digits, . _ : @ / + -)`,
      );
    const reading = {
      start: p.startTimeUnixNano,
      time: p.timeUnixNano,
      count: Number(p.count),
      sum: p.sum ?? 0,
      bucketCounts: p.bucketCounts.map(Number),
      bounds: p.explicitBounds,
    };
    let delta: HistogramDelta;
    if (cumulative) {
      const next = streams.next(`${streamKey}\u0000${sortedAttrs(p.attributes)}`, reading);
      if (next.kind === 'baseline') out.baselines++;
      if (next.kind !== 'delta') return;
      delta = next.delta;
    } else {
      delta = { ...reading, from: BigInt(reading.start), to: BigInt(reading.time) };
    }
    if (delta.count === 0) return;
    const parsed = intervalRecordSchema.safeParse(
      recordOf(flag, arm, segment, isError(p.attributes), delta, msPer(unit)),
    );
    if (!parsed.success)
      return reject(`malformed histogram: ${parsed.error.issues[0]?.message ?? 'rejected'}`);
    if (parsed.data.at > Number(deps.nowNs() / 1_000_000n) + maxFutureMs)
      return reject('timeUnixNano is more than 5 minutes in the future');
    out.records.push(parsed.data);
  }

  return {
    streams: () => streams.size(),
    map(request: OtlpMetricsRequest): OtlpMapping {
      const out: OtlpMapping = { records: [], rejected: 0, reasons: [], baselines: 0 };
      names = deps.attributeNames?.() ?? new Map();
      for (const rm of request.resourceMetrics) {
        const resource = sortedAttrs(rm.resource?.attributes ?? []);
        for (const sm of rm.scopeMetrics) {
          for (const metric of sm.metrics) {
            const h = metric.histogram;
            if (metric.name !== otelNames.duration || !h) continue;
            const key = `${resource}\u0000${sm.scope?.name ?? ''}\u0000${metric.name}`;
            const cumulative = h.aggregationTemporality === temporality.cumulative;
            for (const p of h.dataPoints) mapPoint(out, key, p, cumulative, metric.unit);
          }
        }
      }
      return out;
    },
  };
}
