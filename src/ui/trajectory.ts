// What the flag page draws per guardrail: both arms over time, and the sequential test's statistic against its threshold, refolded through the detectors' own steps.
import { foldWindow } from '../health/assess.ts';
import { defaultRelative } from '../health/assess-guardrail.ts';
import { driftStatistic, initDrift, updateDrift } from '../health/detectors/drift.ts';
import type { MeanStats } from '../health/detectors/mean-test.ts';
import { tailThreshold } from '../health/detectors/tail-exceedance.ts';
import { type AssessedFlag, rolloutStartOf } from '../health/flag-health.ts';
import {
  type ArmStats,
  countAbove,
  histogramTotal,
  type Interval,
  type Side,
  toIntervals,
} from '../health/intervals.ts';
import type { FlagSeries } from '../health/series.ts';
import type { GuardrailVerdict } from '../health/verdict.ts';
import type { Guardrail } from '../plans/schema.ts';
import { countsOf, countTrajectory, meanTrajectory, sloTrajectory } from './test-trajectory.ts';

export type Point = [t: number, v: number];
export interface Line {
  label: string;
  points: Point[];
}
export interface Level {
  label: string;
  value: number;
}

export interface GuardrailTrajectory {
  name: string;
  arms: { title: string; unit: string; lines: Line[]; levels: Level[] };
  statistic: { title: string; lines: Line[]; levels: Level[] } | null;
}

export type TrajectoryFlag = Pick<AssessedFlag, 'plan' | 'state'>;

/** The intervals assess folds for this flag now, by assess's own definition. */
function windowOf(flag: TrajectoryFlag, series: FlagSeries, now: number) {
  const intervals = toIntervals(series).filter((i) => i.start <= now);
  const ctx = {
    rolloutStartedAt: rolloutStartOf(flag.state),
    stageStartedAt: flag.state.stageStartedAt,
    phase: flag.state.phase,
  };
  const { window, drift } = foldWindow(flag.plan, intervals, ctx, series.since);
  return { intervals: window, drift };
}

const num = (x: unknown, fallback: number) => (typeof x === 'number' && Number.isFinite(x) ? x : fallback);

export function trajectories(
  flag: TrajectoryFlag,
  series: FlagSeries,
  verdicts: readonly GuardrailVerdict[],
  now: number,
): GuardrailTrajectory[] {
  const { intervals, drift } = windowOf(flag, series, now);
  const guardrails = flag.plan.rollout?.guardrails ?? [];
  return verdicts.flatMap((v) => {
    const g = guardrails[v.index];
    // The charts fold the whole population; a segment's test is listed with its verdict, not charted.
    return g && !v.segment ? [trajectory(g, v, intervals, drift)] : [];
  });
}

/** Running per-side sums over the folded intervals, the arms' cumulative picture. */
function cumulative(intervals: readonly Interval[], value: (a: ArmStats[], side: Side) => number | null) {
  const seen: Record<Side, ArmStats[]> = { treatment: [], control: [] };
  const lines: Record<Side, Point[]> = { treatment: [], control: [] };
  for (const i of intervals) {
    for (const side of ['treatment', 'control'] as const) {
      seen[side].push(i[side]);
      const v = value(seen[side], side);
      if (v !== null && Number.isFinite(v)) lines[side].push([i.start + i.width, v]);
    }
  }
  return [
    { label: 'treatment', points: lines.treatment },
    { label: 'control', points: lines.control },
  ];
}

const ratio = (arms: ArmStats[], pick: (a: ArmStats) => { n: number; e: number }) => {
  let n = 0;
  let e = 0;
  for (const a of arms) {
    const x = pick(a);
    n += x.n;
    e += x.e;
  }
  return n > 0 ? e / n : null;
};

/** The quantile of everything seen so far, from the merged histogram (the bound where it is reached). */
function runningQuantile(quantile: number) {
  const merged = new Map<number, number>();
  let folded = 0;
  return (arms: ArmStats[]) => {
    for (; folded < arms.length; folded++)
      for (const [le, n] of (arms[folded] as ArmStats).histogram) merged.set(le, (merged.get(le) ?? 0) + n);
    const bounds = [...merged.keys()].sort((a, b) => a - b);
    return tailThreshold(
      { bounds, counts: bounds.map((b) => merged.get(b) ?? 0), cumulative: false },
      quantile,
    );
  };
}

function trajectory(
  g: Guardrail,
  v: GuardrailVerdict,
  intervals: readonly Interval[],
  drift: boolean,
): GuardrailTrajectory {
  const e = v.evidence as Record<string, unknown> & {
    threshold?: { ms?: number; to?: number; source?: string };
  };
  const alpha = num(e.alpha, 0.01);
  const limit = g.max ?? g.min;
  const statistic = (lines: Line[], levels: Level[]) => ({
    title: 'sequential test: statistic against its threshold (log scale)',
    lines,
    levels,
  });

  if (g.metric === 'latency') {
    const q = g.quantile ?? 0.5;
    const label = `p${Math.round(q * 1000) / 10}`;
    if (g.quantile === undefined && g.max === undefined) {
      const log = (a: ArmStats): MeanStats => {
        const l = a['log-latency'];
        return { count: l.count, sum: l.sum, sumSq: l.sumsq ?? 0, nonZero: l.count };
      };
      return {
        name: v.name,
        arms: {
          title: 'typical latency (geometric mean), cumulative',
          unit: 'ms',
          lines: cumulative(intervals, (arms) => {
            const s = arms.reduce((t, a) => ({ c: t.c + log(a).count, s: t.s + log(a).sum }), { c: 0, s: 0 });
            return s.c > 0 ? Math.exp(s.s / s.c) : null;
          }),
          levels: [],
        },
        statistic: meanTrajectory(
          intervals,
          g,
          alpha,
          num(e.tau, Math.log(1 + (g.relative ?? defaultRelative.latency))),
          log,
          statistic,
        ),
      };
    }
    const perSide = { treatment: runningQuantile(q), control: runningQuantile(q) };
    const arms = {
      title: `latency ${label}, cumulative`,
      unit: 'ms',
      lines: cumulative(intervals, (a, side) => perSide[side](a)),
      levels:
        g.max !== undefined
          ? [{ label: `limit ${g.max} ms`, value: g.max }]
          : e.threshold?.ms !== undefined
            ? [{ label: `threshold ${e.threshold.ms} ms (control's ${label})`, value: e.threshold.ms }]
            : [],
    };
    if (g.max !== undefined) {
      const max = g.max;
      return {
        name: v.name,
        arms,
        statistic: sloTrajectory(
          intervals,
          1 - q,
          'higher',
          alpha,
          (a) => ({ units: histogramTotal(a), events: countAbove(a, max) }),
          statistic,
        ),
      };
    }
    const ms = e.threshold?.ms;
    if (ms === undefined) return { name: v.name, arms, statistic: null };
    // Intervals used to fix the threshold are left out of the test, as assess leaves them out.
    const tested =
      e.threshold?.source === 'first control data after the start'
        ? intervals.filter((i) => i.start >= num(e.threshold?.to, 0))
        : intervals;
    const pick = (a: ArmStats) => {
      const n = histogramTotal(a);
      const above = countAbove(a, ms);
      return { n, e: g.worse === 'higher' ? above : n - above };
    };
    return {
      name: v.name,
      arms,
      statistic: countTrajectory(tested, g, alpha, pick, 'cumulative', statistic),
    };
  }

  if (g.metric === 'errors' || (g.metric === 'conversions' && limit !== undefined)) {
    const pick =
      g.metric === 'errors'
        ? (a: ArmStats) =>
            g.worse === 'higher'
              ? { n: a.errors.count, e: a.errors.sum }
              : { n: a.errors.count, e: a.errors.count - a.errors.sum }
        : (a: ArmStats) => ({ n: a.conversions.count, e: Math.min(a.conversions.sum, a.conversions.count) });
    const shown = g.metric === 'errors' ? (a: ArmStats) => ({ n: a.errors.count, e: a.errors.sum }) : pick;
    const arms = {
      title: `${g.metric === 'errors' ? 'error rate' : 'conversion rate'}, cumulative${drift && limit === undefined ? ' since completion (control is the holdback)' : ''}`,
      unit: '%',
      lines: cumulative(intervals, (a) => {
        const r = ratio(a, shown);
        return r === null ? null : r * 100;
      }),
      levels: limit !== undefined ? [{ label: `limit ${limit * 100} %`, value: limit * 100 }] : [],
    };
    if (limit !== undefined) {
      const units = (a: ArmStats) => {
        const x = pick(a);
        return { units: x.n, events: g.metric === 'errors' ? a.errors.sum : x.e };
      };
      return {
        name: v.name,
        arms,
        statistic: sloTrajectory(intervals, limit, g.worse, alpha, units, statistic),
      };
    }
    if (drift) {
      let state = initDrift({ alpha });
      const points: Point[] = [];
      for (const i of intervals) {
        state = updateDrift(state, countsOf(i, pick));
        points.push([i.start + i.width, driftStatistic(state)]);
      }
      return {
        name: v.name,
        arms,
        statistic: {
          title: 'drift evidence (change-point mixture) against ln(1/α)',
          lines: [{ label: 'evidence of a rise since completion', points }],
          levels: [
            { label: `threshold ln(1/α) = ${(-Math.log(alpha)).toFixed(2)}`, value: -Math.log(alpha) },
          ],
        },
      };
    }
    return {
      name: v.name,
      arms,
      statistic: countTrajectory(intervals, g, alpha, pick, 'change-point', statistic),
    };
  }

  // conversions and revenue per exposed user, relative: the mSPRT on means.
  const of =
    g.metric === 'conversions'
      ? (a: ArmStats): MeanStats => ({
          count: a.conversions.count,
          sum: a.conversions.sum,
          sumSq: a.conversions.sumsq ?? a.conversions.sum,
          nonZero: a.conversions.sum,
        })
      : (a: ArmStats): MeanStats => ({
          count: a.revenue.count,
          sum: a.revenue.sum,
          sumSq: a.revenue.sumsq ?? 0,
          nonZero: a.conversions.count > 0 ? a.conversions.sum : a.revenue.count,
        });
  const arms = {
    title: `${g.metric} per exposed user, cumulative`,
    unit: g.metric === 'conversions' ? '%' : '',
    lines: cumulative(intervals, (a) => {
      const s = a.reduce((t, x) => ({ c: t.c + of(x).count, s: t.s + of(x).sum }), { c: 0, s: 0 });
      return s.c > 0 ? (s.s / s.c) * (g.metric === 'conversions' ? 100 : 1) : null;
    }),
    levels: [],
  };
  const tau = num(e.tau, 0);
  return {
    name: v.name,
    arms,
    statistic: tau > 0 ? meanTrajectory(intervals, g, alpha, tau, of, statistic) : null,
  };
}
