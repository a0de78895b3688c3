// The experiment readout per arm: exposed users, conversions and revenue per exposed user, with 95 % intervals.
import { type FlagSeries, minuteMs } from '../health/series.ts';

export interface ArmReadout {
  arm: string;
  users: number;
  conversions: number;
  conversionRate: { value: number; lower: number; upper: number } | null;
  revenuePerUser: { value: number; lower: number; upper: number } | null;
}

/** Wilson's interval for a proportion: sensible at small counts and rates near 0, unlike the normal one. */
function wilson(events: number, n: number, z = 1.96) {
  const p = events / n;
  const denom = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denom;
  return { value: p, lower: Math.max(0, centre - half), upper: Math.min(1, centre + half) };
}

/**
 * Fixed-sample 95 % intervals over the rollout so far, for reading; the decision itself is the guardrail's
 * always-valid test, whose interval is in the decision's evidence.
 */
export function readout(series: FlagSeries, from: number): ArmReadout[] {
  const floor = Math.floor(from / minuteMs) * minuteMs;
  const arms = new Map<string, { units: number; conv: number; rn: number; rs: number; rss: number | null }>();
  for (const p of series.points) {
    if (p.start < floor) continue;
    const a = arms.get(p.arm) ?? { units: 0, conv: 0, rn: 0, rs: 0, rss: 0 };
    if (p.metric === 'conversions') {
      a.units += p.count;
      a.conv += p.sum;
    } else if (p.metric === 'revenue') {
      a.rn += p.count;
      a.rs += p.sum;
      a.rss = a.rss === null || p.sumsq === null ? null : a.rss + p.sumsq;
    }
    arms.set(p.arm, a);
  }
  return [...arms]
    .filter(([, a]) => a.units > 0 || a.rn > 0)
    .sort(([x], [y]) => (x === 'control' ? -1 : y === 'control' ? 1 : x.localeCompare(y)))
    .map(([arm, a]) => {
      let revenuePerUser: ArmReadout['revenuePerUser'] = null;
      if (a.rn > 0) {
        const mean = a.rs / a.rn;
        const variance = a.rss !== null && a.rn > 1 ? Math.max(0, (a.rss - a.rs * mean) / (a.rn - 1)) : null;
        const half = variance === null ? 0 : 1.96 * Math.sqrt(variance / a.rn);
        revenuePerUser = { value: mean, lower: mean - half, upper: mean + half };
      }
      return {
        arm,
        users: Math.max(a.units, a.rn),
        conversions: a.conv,
        conversionRate: a.units > 0 ? wilson(Math.min(a.conv, a.units), a.units) : null,
        revenuePerUser,
      };
    });
}
