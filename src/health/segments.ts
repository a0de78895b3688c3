// Per-segment tests of a `by:` guardrail: the same guardrail test on each value's own signals, with the budget split in advance.
import { defaultMaxSegments, type Guardrail, type Plan } from '../plans/schema.ts';
import {
  type GuardrailFold,
  type GuardrailWindow,
  judgeGuardrail,
  startGuardrail,
  stepGuardrail,
} from './assess-guardrail.ts';
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
 * not by the values that happen to arrive. Every test's α bounds its false rollbacks over any horizon (the
 * late-onset and drift forms included), so the union bound holds for the family.
 */
export function budgetOf(g: Guardrail, alpha: number): Pick<GuardrailWindow, 'alpha'> {
  return { alpha: g.by === undefined ? alpha : alpha / 2 };
}

function segmentBudget(g: Guardrail, alpha: number) {
  return { alpha: alpha / (2 * (maxSegmentsOf(g) + 1)) };
}

/** The key a per-segment test's state is kept under, beside its guardrail's own: `<guardrail key>|region=eu`. */
export const segmentStreamKey = (guardrailKey: string, field: string, value: string): string =>
  `${guardrailKey}|${field}=${value}`;

/** What a segment verdict carries about its segment (also in its evidence, so events keep it). */
export type SegmentInfo = NonNullable<GuardrailVerdict['segment']>;

/** Groups a flag's segmented points by tested segment: the first maxSegments values, then "(other)". */
function groupsOf(segments: SegmentSeries, maxSegments: number) {
  const own = new Set(segments.values.slice(0, maxSegments));
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
  return order.flatMap((name) => {
    const group = groups.get(name);
    return group ? [{ name, ...group }] : [];
  });
}

/** A segment's test carried as a stream of its flag's fold, beside the whole-population streams. */
export interface SegmentStream {
  /** segmentStreamKey: `<guardrail index>|<field>=<value>`. */
  key: string;
  index: number;
  value: string;
  alpha: number;
  fold: GuardrailFold;
  /** This segment's window intervals folded so far. */
  windowIntervals: number;
}

/** The segment part of a flag's fold: the stored values it was folded under and each tested segment's stream. */
export interface SegmentFolds {
  /** Stored values in order of arrival when last folded: which have tests of their own follows from them. */
  values: string[];
  /** Some folded point was stored as "(other)" past the stored cap. */
  unnamed: boolean;
  streams: SegmentStream[];
}

export interface SegmentSetup {
  now: number;
  /** The guardrails' shares of the plan's α, by index (as assess split them). */
  alphas: readonly number[];
  /** assess's fold window, applied to each segment's intervals the way it is to the whole population's. */
  fold: (intervals: readonly Interval[]) => { window: Interval[]; history: Interval[]; drift: boolean };
  /** Where the window starts: intervals before it are history only. */
  from: number;
}

const byGuardrails = (plan: Plan) =>
  (plan.rollout?.guardrails ?? []).flatMap((g, index) =>
    g.by === undefined ? [] : [{ g, index, field: g.by }],
  );

/** Each tested segment's intervals among `segments` (up to now), with its stream key, in verdict order. */
function segmentGroups(plan: Plan, segments: SegmentSeries, now: number) {
  return byGuardrails(plan).flatMap(({ g, index, field }) =>
    groupsOf(segments, maxSegmentsOf(g)).map((group) => ({
      key: segmentStreamKey(String(index), field, group.name),
      index,
      value: group.name,
      intervals: toIntervals({ flag: '', since: 0, ...group }).filter((i) => i.start <= now),
    })),
  );
}

/** A segment's stream before any window interval: its test set up from its own history among `known`. */
function startSegment(
  plan: Plan,
  group: { key: string; index: number; value: string },
  known: readonly Interval[],
  s: SegmentSetup,
  scratch: boolean,
): SegmentStream {
  const g = plan.rollout?.guardrails[group.index] as Guardrail;
  const budget = segmentBudget(g, s.alphas[group.index] ?? 0.01);
  const { window, history, drift } = s.fold(known);
  const fold = startGuardrail(g, { ...budget, history, drift }, { window, scratch });
  return { ...group, alpha: budget.alpha, fold, windowIntervals: 0 };
}

/** Folds a segment's window intervals into a new stream; null (strict) when one changes what its test fixed. */
function stepSegment(
  plan: Plan,
  stream: SegmentStream,
  intervals: readonly Interval[],
  from: number,
  strict: boolean,
): SegmentStream | null {
  const g = plan.rollout?.guardrails[stream.index] as Guardrail;
  let { fold, windowIntervals } = stream;
  for (const i of intervals) {
    if (i.start < from) continue;
    windowIntervals++;
    const next = stepGuardrail(g, fold, i);
    if (!next && strict) return null;
    fold = next ?? fold;
  }
  return { ...stream, fold, windowIntervals };
}

const hasUnnamed = (segments: SegmentSeries, keep: (i: { start: number; width: number }) => boolean) =>
  segments.points.some((p) => p.segment === otherSegment && keep(p));

/** Every tested segment folded from the first interval of `segments` (what assess does from scratch). */
export function foldSegments(plan: Plan, segments: SegmentSeries, s: SegmentSetup): SegmentFolds {
  const streams = segmentGroups(plan, segments, s.now).map(
    (group) =>
      stepSegment(
        plan,
        startSegment(plan, group, group.intervals, s, true),
        group.intervals,
        s.from,
        false,
      ) as SegmentStream,
  );
  return { values: segments.values, unnamed: hasUnnamed(segments, () => true), streams };
}

/**
 * Folds the segment intervals of `fresh` that `keep` takes (all after what is folded) into new segment folds;
 * the old ones are left as they were. A segment seen for the first time starts from the series start: its
 * history (`full`, read once) is folded then. Null when a fold from scratch is needed: an interval changes what
 * a test fixed, a new segment's test needs its whole window up front, or the stored values no longer start with
 * those folded under (a value forgotten past retention moves which values have tests of their own).
 */
export function advanceSegments(
  plan: Plan,
  folds: SegmentFolds,
  fresh: SegmentSeries,
  s: SegmentSetup,
  full: () => SegmentSeries,
  keep: (i: { start: number; width: number }) => boolean,
): SegmentFolds | null {
  if (folds.values.some((v, k) => fresh.values[k] !== v)) return null;
  const streams = new Map(folds.streams.map((x) => [x.key, x]));
  let history: Map<string, Interval[]> | undefined;
  for (const group of segmentGroups(plan, fresh, s.now)) {
    let todo = group.intervals.filter(keep);
    let stream = streams.get(group.key);
    if (!stream) {
      // Started even when all its minutes are still open, so the history is read for it once, not every tick.
      history ??= new Map(segmentGroups(plan, full(), s.now).map((x) => [x.key, x.intervals]));
      const known = history.get(group.key) ?? group.intervals;
      stream = startSegment(plan, group, known, s, false);
      if (stream.fold.kind === 'unfoldable') return null;
      todo = known.filter(keep);
    }
    const next = stepSegment(plan, stream, todo, s.from, true);
    if (!next) return null;
    streams.set(group.key, next);
  }
  return {
    values: fresh.values,
    unnamed: folds.unnamed || hasUnnamed(fresh, keep),
    streams: [...streams.values()],
  };
}

/**
 * Each `by:` guardrail's test on each segment with signals, as a derived guardrail verdict named
 * "errors (relative) in region=eu". A segment's missing data or inconclusive test is advisory (it holds
 * nothing) unless the guardrail has requireEachSegment; its regression always counts. `whole`: the
 * whole-population verdicts, by guardrail index (a segment's regression says how the total looks).
 */
export function judgeSegments(
  plan: Plan,
  folds: SegmentFolds,
  drift: boolean,
  whole: readonly GuardrailVerdict[],
): GuardrailVerdict[] {
  const guardrails = plan.rollout?.guardrails ?? [];
  const place = (x: SegmentStream) => {
    const at = folds.values.indexOf(x.value);
    return x.value === otherSegment || at < 0 ? Number.POSITIVE_INFINITY : at;
  };
  const ordered = [...folds.streams].sort((a, b) => a.index - b.index || place(a) - place(b));
  return ordered.map((stream) => {
    const g = guardrails[stream.index] as Guardrail;
    const field = g.by as string;
    const v = judgeGuardrail(
      g,
      stream.index,
      stream.fold,
      { alpha: stream.alpha, drift },
      stream.windowIntervals,
    );
    const own = new Set(folds.values.slice(0, maxSegmentsOf(g)));
    const pooled = folds.values.filter((x) => !own.has(x));
    const info: SegmentInfo = {
      field,
      value: stream.value,
      stream: stream.key,
      ...(stream.value === otherSegment
        ? { pooledValues: pooled.length, pooledNames: pooled.slice(0, 20), pooledUnnamed: folds.unnamed }
        : {}),
    };
    const wholeVerdict = whole.find((x) => x.index === stream.index);
    const name = `${v.name} in ${field}=${stream.value}`;
    const advisory =
      !g.requireEachSegment && (v.status === 'insufficient-data' || v.status === 'inconclusive');
    return {
      ...v,
      name,
      summary: v.summary.replace(v.name, name),
      segment: info,
      ...(advisory ? { advisory: true } : {}),
      evidence: {
        ...v.evidence,
        segment: info,
        ...(wholeVerdict
          ? {
              wholePopulation: {
                status: wholeVerdict.status,
                summary: wholeVerdict.summary,
                evidence: wholeVerdict.evidence,
              },
            }
          : {}),
      },
    };
  });
}
