// PromQL templates filled in safely, and Prometheus histogram buckets read back as a latency histogram.
import type { Series } from './prometheus-client.ts';
import type { LatencyHistogram } from './signal-schema.ts';

/** Escaped for a PromQL double-quoted string: a variant name cannot end the label matcher it sits in. */
export const promqlString = (value: string) =>
  value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r');

/** A duration PromQL accepts: whole seconds, or milliseconds below one. */
export const promqlDuration = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);

/** `$flag` and `$arm` as escaped string contents, `$interval` as the step (e.g. 60s). */
export function renderTemplate(template: string, v: { flag: string; arm: string; stepMs: number }): string {
  return template.replace(/\$(flag|arm|interval)\b/g, (_, name: string) =>
    name === 'interval' ? promqlDuration(v.stepMs) : promqlString(name === 'flag' ? v.flag : v.arm),
  );
}

const boundOf = (le: string | undefined) =>
  le === undefined ? undefined : le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);

/**
 * The buckets at time `t` (one series per `le`, counts per step) as Rollgate's cumulative histogram in ms.
 * increase() extrapolates, so counts are rounded and forced to be non-decreasing across bounds.
 */
export function latencyRecord(
  buckets: readonly Series[],
  t: number,
  unit: 's' | 'ms',
  sum: number | undefined,
): LatencyHistogram | undefined {
  const scale = unit === 's' ? 1000 : 1;
  const points = buckets
    .map((s) => ({ le: boundOf(s.labels.le), value: s.values.find(([at]) => at === t)?.[1] }))
    .filter(
      (p): p is { le: number; value: number } =>
        p.le !== undefined && !Number.isNaN(p.le) && p.value !== undefined,
    )
    .sort((a, b) => a.le - b.le);
  const inf = points.at(-1);
  if (!inf || inf.le !== Number.POSITIVE_INFINITY) return undefined;
  let running = 0;
  const cumulative = points.map((p) => {
    running = Math.max(running, Math.max(0, Math.round(p.value)));
    return { le: p.le, count: running };
  });
  const count = running;
  if (count === 0) return undefined;
  const finite = cumulative.filter((b) => Number.isFinite(b.le) && b.le > 0);
  let estimated = 0;
  let below = 0;
  let lower = 0;
  for (const b of finite) {
    estimated += (b.count - below) * ((lower + b.le * scale) / 2);
    below = b.count;
    lower = b.le * scale;
  }
  estimated += (count - below) * lower;
  return {
    count,
    sum: sum !== undefined && Number.isFinite(sum) ? Math.max(0, sum * scale) : estimated,
    buckets: [
      ...finite.map((b) => ({ le: b.le * scale, count: Math.min(b.count, count) })),
      { le: '+Inf', count },
    ],
  };
}
