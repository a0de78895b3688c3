// Reads what assess needs for one flag from the signal store and assesses it: the scheduler, the health API and replay share this.
import { planChecksum } from '../plans/checksum.ts';
import type { Plan } from '../plans/schema.ts';
import { segmentFieldOf } from '../plans/signal-source.ts';
import {
  type AssessContext,
  advanceFold,
  assess,
  type FlagFold,
  foldBounds,
  judgeFold,
  segmentSetup,
  seriesStart,
  startFold,
  unfoldable,
} from './assess.ts';
import { type FoldRow, foldRows, foldsFromRows } from './fold-store.ts';
import { addTraffic, emptyTraffic, type Interval, toIntervals } from './intervals.ts';
import { advanceSegments, foldSegments, type SegmentFolds } from './segments.ts';
import { type FlagSeries, minuteMs, minuteOf, type SegmentSeries } from './series.ts';
import type { SignalStore } from './signal-store.ts';
import type { Verdict } from './verdict.ts';

/** The parts of a flag assess looks at; the controller's Flag has this shape. */
export interface AssessedFlag {
  plan: Plan;
  state: {
    phase: string;
    stageStartedAt: number | null;
    startedAt: number | null;
    watchSince: number | null;
    /** The state's version, when known: a cached verdict is reused only for the state it was computed for. */
    version?: number;
  };
  percent: number;
}

export interface FlagHealthOptions {
  staleAfterMs?: number;
  historyMs?: number;
}

export type FlagHealth = ReturnType<typeof createFlagHealth>;

/** Tests fold from the rollout start, or from the moment a person last resumed it (or promoted past a pause). */
export const rolloutStartOf = (state: AssessedFlag['state']): number | null =>
  state.watchSince ?? state.startedAt;

function contextOf(deps: FlagHealthOptions, flag: AssessedFlag, now: number): AssessContext {
  const ctx: AssessContext = {
    now,
    stageStartedAt: flag.state.stageStartedAt,
    rolloutStartedAt: rolloutStartOf(flag.state),
    percent: flag.percent,
    phase: flag.state.phase,
  };
  if (deps.staleAfterMs !== undefined) ctx.staleAfterMs = deps.staleAfterMs;
  if (deps.historyMs !== undefined) ctx.historyMs = deps.historyMs;
  return ctx;
}

export function createFlagHealth(deps: { store: SignalStore } & FlagHealthOptions) {
  const { store } = deps;
  /** The verdict now and the series it was computed from. */
  const check = (flag: AssessedFlag, now: number): { verdict: Verdict; series: FlagSeries } => {
    const ctx = contextOf(deps, flag, now);
    const since = seriesStart(ctx);
    const series = store.series(flag.plan.name, since);
    // Segment rows are read only for a plan that splits some guardrail by a context field.
    if (segmentFieldOf(flag.plan) !== undefined) series.segments = store.segmentSeries(flag.plan.name, since);
    return {
      verdict: { ...assess(flag.plan, series, ctx), late: store.late(flag.plan.name, since) },
      series,
    };
  };
  /** The scheduler's `assess` dependency (safe to pass detached). */
  const assessFlag = (flag: AssessedFlag, now: number): Verdict => check(flag, now).verdict;
  return { check, assess: assessFlag };
}

/**
 * Intervals are closed, and folded for good, once they ended at least the settle lag ago: `closedBefore` is
 * the end of the last closed minute. Newer intervals are folded on top of a copy for each verdict, so they may
 * still fill up; a signal for a closed minute that came after an assessment took the minute in is late.
 */
export const closedBefore = (now: number, settleMs: number): number => minuteOf(now - settleMs);

/**
 * The shape of the detectors' stored states: raised when a detector's state changes, so states an older build
 * stored are folded again from the signals instead of read as something they are not.
 */
const foldFormat = 2;

/** What a fold was folded under: another plan, window, rollout start or mode starts it again, as it always did. */
function foldKey(plan: Plan, ctx: AssessContext, since: number): string {
  const { from, rolloutStart, drift } = foldBounds(plan, ctx, since);
  return JSON.stringify([foldFormat, planChecksum(plan), since, from, rolloutStart, drift]);
}

export type FoldingHealth = ReturnType<typeof createFoldingHealth>;

/**
 * Assessment that carries each flag's fold from tick to tick: a tick reads and folds only the intervals that
 * closed since the last one (and the open ones on a copy), so its cost is flat in the rollout's length. The
 * verdicts are those of folding from scratch (`assess`) over the same stored signals. A fold is started again
 * from scratch exactly when today's window would be: a plan change, a resume (watchSince), a new rollout
 * start, the switch to drift after completion. Each verdict comes with the rows to store when its fold moved on.
 */
export function createFoldingHealth(
  deps: { store: SignalStore; rows: readonly FoldRow[] } & FlagHealthOptions,
) {
  const { store } = deps;
  const folds = foldsFromRows(deps.rows);
  const read = (name: string, since: number, now: number): Interval[] =>
    toIntervals(store.series(name, since)).filter((i) => i.start <= now);
  const closed = (intervals: readonly Interval[], until: number) => {
    const done = intervals.filter((i) => i.start + i.width <= until);
    return { done, open: intervals.filter((i) => i.start + i.width > until) };
  };

  /** The stage's traffic again from its start, for a fold whose stage changed (a promotion). */
  function restage(name: string, fold: FlagFold, stageFrom: number, since: number, now: number): FlagFold {
    const traffic = emptyTraffic();
    const { done } = closed(read(name, Math.max(stageFrom, since), now), fold.foldedUntil);
    for (const i of done) if (i.start >= stageFrom) addTraffic(traffic, i);
    return { ...fold, stage: { from: stageFrom, traffic } };
  }

  /**
   * A flag's segment folds moved on by the segment intervals closed by `to` (next) and, on a copy, the open ones
   * (shown); `fresh` holds the segment points from where the fold stands. Null: fold the flag from scratch.
   */
  function advanceSegmentFolds(
    flag: AssessedFlag,
    folds: SegmentFolds,
    fresh: SegmentSeries,
    ctx: AssessContext,
    since: number,
    to: number,
    read?: SegmentSeries,
  ): { next: SegmentFolds; shown: SegmentFolds } | null {
    const setup = segmentSetup(flag.plan, ctx, since);
    // A segment first seen now starts from the series start: its history is read once, then.
    let full = read;
    const history = () => {
      full ??= store.segmentSeries(flag.plan.name, since);
      return full;
    };
    const next = advanceSegments(flag.plan, folds, fresh, setup, history, (i) => i.start + i.width <= to);
    const shown =
      next && advanceSegments(flag.plan, next, fresh, setup, history, (i) => i.start + i.width > to);
    return next && shown ? { next, shown } : null;
  }

  function assessFlag(flag: AssessedFlag, now: number, until: number): { verdict: Verdict; rows: FoldRow[] } {
    const { plan } = flag;
    // Per-segment tests (by:) are streams of the same fold, advanced with only their segment's new intervals.
    const segmented = segmentFieldOf(plan) !== undefined;
    const ctx = contextOf(deps, flag, now);
    const since = seriesStart(ctx);
    const key = foldKey(plan, ctx, since);
    const late = store.late(plan.name, since);
    const { rolloutStart, stageStart } = foldBounds(plan, ctx, since);
    const stageFrom = Math.ceil(stageStart / minuteMs) * minuteMs;
    const before = folds.get(plan.name);
    if (before && before.key === key && (!segmented || before.segments)) {
      const kept =
        before.stage.from === stageFrom ? before : restage(plan.name, before, stageFrom, since, now);
      const to = Math.max(until, kept.foldedUntil);
      const { done, open } = closed(read(plan.name, kept.foldedUntil, now), to);
      const next = advanceFold(plan, kept, done, ctx, since);
      const shown = next && advanceFold(plan, next, open, ctx, since);
      const segments =
        kept.segments &&
        advanceSegmentFolds(
          flag,
          kept.segments,
          store.segmentSeries(plan.name, kept.foldedUntil),
          ctx,
          since,
          to,
        );
      if (next && shown && (!kept.segments || segments)) {
        const moved = to > before.foldedUntil || kept !== before;
        const fold = { ...next, foldedUntil: to, ...(segments ? { segments: segments.next } : {}) };
        folds.set(plan.name, fold);
        const judged = segments ? { ...shown, segments: segments.shown } : shown;
        return { verdict: judgeFold(plan, judged, ctx, late), rows: moved ? foldRows(plan.name, fold) : [] };
      }
    }
    // From scratch: the first tick, another key, or an interval that changed what a test fixed up front.
    folds.delete(plan.name);
    const intervals = read(plan.name, since, now);
    const fromScratch = () => {
      const scratch = startFold(plan, ctx, since, intervals, true, key);
      const all = advanceFold(plan, scratch, intervals, ctx, since) as FlagFold;
      if (segmented)
        all.segments = foldSegments(
          plan,
          store.segmentSeries(plan.name, since),
          segmentSetup(plan, ctx, since),
        );
      return { verdict: judgeFold(plan, all, ctx, late), rows: [] };
    };
    // History runs to the rollout start: until that has closed, no fold is kept (nor for a test that needs all).
    if (until < rolloutStart) return fromScratch();
    const start = startFold(plan, ctx, since, intervals, false, key);
    if (unfoldable(start)) return fromScratch();
    const { done, open } = closed(intervals, until);
    const next = advanceFold(plan, start, done, ctx, since);
    const shown = next && advanceFold(plan, next, open, ctx, since);
    if (!next || !shown) return fromScratch();
    let fold: FlagFold = { ...next, foldedUntil: until };
    let judged = shown;
    if (segmented) {
      const full = store.segmentSeries(plan.name, since);
      const segments = advanceSegmentFolds(
        flag,
        { values: [], unnamed: false, streams: [] },
        full,
        ctx,
        since,
        until,
        full,
      );
      if (!segments) return fromScratch();
      fold = { ...fold, segments: segments.next };
      judged = { ...shown, segments: segments.shown };
    }
    folds.set(plan.name, fold);
    return { verdict: judgeFold(plan, judged, ctx, late), rows: foldRows(plan.name, fold) };
  }
  return {
    /** The verdict at `now`, folding intervals that closed by `until` for good; and the rows to store, if any. */
    assess: assessFlag,
  };
}
