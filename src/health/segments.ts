// Per-segment tests of a `by:` guardrail: the same guardrail test on each value's own signals, with the budget split in advance.
import { defaultMaxSegments, type Guardrail, type Plan } from '../plans/schema.ts';
import { assessGuardrail, type GuardrailWindow } from './assess-guardrail.ts';
import { type Interval, toIntervals } from './intervals.ts';
import { type FlagSeries, otherSegment, type SegmentSeries } from './series.ts';
import type { GuardrailVerdict } from './verdict.ts';

/** How many values of a `by:` guardrail get a test of their own; the rest share the pooled "(other)" test. */
export const maxSegmentsOf = (g: Guardrail): number => g.maxSegments ?? defaultMaxSegments;

/**
 * The false-rollback budget of one guardrail, split so the guardrail keeps its share of the plan's α however
 * many segments report. Without `by:` the whole-population test has all of it, as always. With `by:` half goes
 * to the whole-population test and half is split equally (Bonferroni) over maxSegments + 1 segment tests —
 * the values with a test of their own and the pooled "(other)": a number fixed by the plan before any signal,
 * not by the values that happen to arrive. The reflected (late-onset) form and the drift CUSUM guarantee an
 * average run length rather than a probability; their thresholds are multiplied by the same factors, so the
 * family's false alarms per look stay those of one test (a union bound on the rate).
 */
export function budgetOf(
  g: Guardrail,
  alpha: number,
  driftArl0Intervals: number,
): Pick<GuardrailWindow, 'alpha' | 'driftArl0Intervals' | 'detectorScale'> {
  if (g.by === undefined) return { alpha, driftArl0Intervals };
  return { alpha: alpha / 2, driftArl0Intervals: driftArl0Intervals * 2, detectorScale: 2 };
}

function segmentBudget(g: Guardrail, alpha: number, driftArl0Intervals: number) {
  const tests = 2 * (maxSegmentsOf(g) + 1);
  return { alpha: alpha / tests, driftArl0Intervals: driftArl0Intervals * tests, detectorScale: tests };
}

/** The key a per-segment test's state is kept under, beside its guardrail's own: `<guardrail key>|region=eu`. */
export const segmentStreamKey = (guardrailKey: string, field: string, value: string): string =>
  `${guardrailKey}|${field}=${value}`;

/** What a segment verdict carries about its segment (also in its evidence, so events keep it). */
export type SegmentInfo = NonNullable<GuardrailVerdict['segment']>;

/** Groups a flag's segmented points by tested segment: the first maxSegments values, then "(other)". */
function groupsOf(segments: SegmentSeries, maxSegments: number) {
  const own = new Set(segments.values.slice(0, maxSegments));
  const pooled = segments.values.filter((v) => !own.has(v));
  const groups = new Map<string, { points: FlagSeries['points']; histograms: FlagSeries['histograms'] }>();
  const groupOf = (segment: string) => {
    const name = own.has(segment) ? segment : otherSegment;
    let group = groups.get(name);
    if (!group) {
      group = { points: [], histograms: [] };
      groups.set(name, group);
    }
    return group;
  };
  for (const p of segments.points) groupOf(p.segment).points.push(p);
  for (const h of segments.histograms) groupOf(h.segment).histograms.push(h);
  const order = [...segments.values.filter((v) => own.has(v)), otherSegment];
  return {
    groups: order.flatMap((name) => {
      const group = groups.get(name);
      return group ? [{ name, ...group }] : [];
    }),
    pooled,
    unnamed: segments.points.some((p) => p.segment === otherSegment),
  };
}

export interface SegmentWindow {
  now: number;
  /** The guardrails' shares of the plan's α, by index (as assess split them). */
  alphas: readonly number[];
  driftArl0Intervals: number;
  /** assess's fold window, applied to each segment's intervals the way it is to the whole population's. */
  fold: (intervals: readonly Interval[]) => { window: Interval[]; history: Interval[]; drift: boolean };
  /** The whole-population verdicts, by guardrail index: a segment's regression says how the total looks. */
  whole: readonly GuardrailVerdict[];
}

/**
 * Each `by:` guardrail's test on each segment with signals, as a derived guardrail verdict named
 * "errors (relative) in region=eu". A segment's missing data or inconclusive test is advisory (it holds
 * nothing) unless the guardrail has requireEachSegment; its regression always counts.
 */
export function assessSegments(plan: Plan, series: FlagSeries, w: SegmentWindow): GuardrailVerdict[] {
  const segments = series.segments;
  if (!segments) return [];
  const out: GuardrailVerdict[] = [];
  (plan.rollout?.guardrails ?? []).forEach((g, index) => {
    const field = g.by;
    if (field === undefined) return;
    const { groups, pooled, unnamed } = groupsOf(segments, maxSegmentsOf(g));
    const budget = segmentBudget(g, w.alphas[index] ?? 0.01, w.driftArl0Intervals);
    const whole = w.whole.find((v) => v.index === index);
    for (const group of groups) {
      const intervals = toIntervals({ flag: series.flag, since: series.since, ...group }).filter(
        (i) => i.start <= w.now,
      );
      const { window, history, drift } = w.fold(intervals);
      const v = assessGuardrail(g, index, { ...budget, intervals: window, history, drift });
      const info: SegmentInfo = {
        field,
        value: group.name,
        stream: segmentStreamKey(String(index), field, group.name),
        ...(group.name === otherSegment
          ? { pooledValues: pooled.length, pooledNames: pooled.slice(0, 20), pooledUnnamed: unnamed }
          : {}),
      };
      const name = `${v.name} in ${field}=${group.name}`;
      const advisory =
        !g.requireEachSegment && (v.status === 'insufficient-data' || v.status === 'inconclusive');
      out.push({
        ...v,
        name,
        summary: v.summary.replace(v.name, name),
        segment: info,
        ...(advisory ? { advisory: true } : {}),
        evidence: {
          ...v.evidence,
          segment: info,
          ...(whole
            ? { wholePopulation: { status: whole.status, summary: whole.summary, evidence: whole.evidence } }
            : {}),
        },
      });
    }
  });
  return out;
}
