// The sequential tests' statistics step by step: each fold runs the detector's own init and update over the intervals assess uses.
import { defaultRelative } from '../health/assess-guardrail.ts';
import {
  type CountTestForm,
  countStatistics,
  initCountTest,
  updateCountTest,
} from '../health/detectors/count-test.ts';
import {
  initMeanTest,
  type MeanStats,
  meanStatistic,
  updateMeanTest,
} from '../health/detectors/mean-test.ts';
import { initSlo, logMixtureRatio, updateSlo } from '../health/detectors/slo-bound.ts';
import type { CountInterval } from '../health/detectors/split-likelihood.ts';
import type { ArmStats, Interval } from '../health/intervals.ts';
import type { Guardrail } from '../plans/schema.ts';
import type { GuardrailTrajectory, Level, Line, Point } from './trajectory.ts';

export const countsOf = (i: Interval, pick: (a: ArmStats) => { n: number; e: number }): CountInterval => {
  const t = pick(i.treatment);
  const c = pick(i.control);
  return { nT: t.n, nC: c.n, eT: t.e, eC: c.e };
};

export type Frame = (lines: Line[], levels: Level[]) => NonNullable<GuardrailTrajectory['statistic']>;

export function countTrajectory(
  intervals: readonly Interval[],
  g: Guardrail,
  alpha: number,
  pick: (a: ArmStats) => { n: number; e: number },
  form: CountTestForm,
  frame: Frame,
) {
  let state = initCountTest({ alpha, form, detectRatio: 1 + (g.relative ?? defaultRelative.errors) });
  const cumulativeLine: Point[] = [];
  const changePointLine: Point[] = [];
  for (const i of intervals) {
    state = updateCountTest(state, countsOf(i, pick));
    const t = i.start + i.width;
    const statistics = countStatistics(state);
    cumulativeLine.push([t, statistics.cumulative]);
    changePointLine.push([t, statistics.changePoint]);
  }
  const lines = [{ label: 'cumulative (from the start)', points: cumulativeLine }];
  if (form === 'change-point')
    lines.push({ label: 'any onset (change-point mixture)', points: changePointLine });
  return frame(lines, [
    { label: `threshold ln(1/α) = ${(-Math.log(alpha)).toFixed(2)}`, value: -Math.log(alpha) },
  ]);
}

export function sloTrajectory(
  intervals: readonly Interval[],
  limit: number,
  worse: Guardrail['worse'],
  alpha: number,
  of: (a: ArmStats) => { units: number; events: number },
  frame: Frame,
) {
  let state = initSlo({ limit, worse, alpha });
  const points: Point[] = [];
  for (const i of intervals) {
    state = updateSlo(state, of(i.treatment));
    const observed = state.units > 0 ? state.events / state.units : limit;
    // The statistic only counts on the bad side of the limit; on the good side the SLO cannot be breached.
    const bad = worse === 'higher' ? observed > limit : observed < limit;
    points.push([i.start + i.width, bad ? logMixtureRatio(state.events, state.units, limit, limit) : 0]);
  }
  return frame(
    [{ label: 'evidence of a breach', points }],
    [{ label: `threshold ln(1/α) = ${(-Math.log(alpha)).toFixed(2)}`, value: -Math.log(alpha) }],
  );
}

export function meanTrajectory(
  intervals: readonly Interval[],
  g: Guardrail,
  alpha: number,
  tau: number,
  of: (a: ArmStats) => MeanStats,
  frame: Frame,
) {
  let state = initMeanTest({ alpha, worse: g.worse, tau });
  const points: Point[] = [];
  for (const i of intervals) {
    state = updateMeanTest(state, { treatment: of(i.treatment), control: of(i.control) });
    points.push([i.start + i.width, meanStatistic(state).logLambda]);
  }
  return frame(
    [{ label: 'ln Λ', points }],
    [{ label: `threshold ln(1/α) = ${(-Math.log(alpha)).toFixed(2)}`, value: -Math.log(alpha) }],
  );
}
