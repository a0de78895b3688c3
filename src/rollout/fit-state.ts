// How a changed plan maps onto a running rollout's state: the plan owns what, the state owns where.
import type { Plan } from '../plans/schema.ts';
import type { Decision } from './controller.ts';
import type { FlagState } from './state.ts';

/**
 * A new plan owns *what*, the state owns *where*: keep the stage unless it no longer exists. When the stage's
 * percent moved to another index, follow it; when it is gone, step down to the largest smaller stage.
 */
export function fitStateToPlan(state: FlagState, before: Plan | undefined, plan: Plan): Decision | null {
  if (!plan.rollout) {
    if (state.phase === 'static') return null;
    return {
      next: { ...state, phase: 'static', stage: 0, stageStartedAt: null },
      event: {
        type: 'rollout.removed',
        reason: 'the plan no longer has a rollout',
        data: { phaseBefore: state.phase },
      },
    };
  }
  if (state.phase === 'static') {
    return {
      next: { ...state, phase: 'ready', stage: 0 },
      event: { type: 'rollout.added', reason: 'the plan now has a rollout; start it when ready', data: {} },
    };
  }
  const stages = plan.rollout.stages;
  const oldPercent = before?.rollout?.stages[state.stage]?.percent;
  if (oldPercent === undefined || stages[state.stage]?.percent === oldPercent) return null;
  const same = stages.findIndex((s) => s.percent === oldPercent);
  const lower = stages.reduce((best, s, i) => (s.percent < oldPercent ? i : best), 0);
  const stage = same >= 0 ? same : lower;
  return {
    next: { ...state, stage },
    event: {
      type: 'rollout.stage-moved',
      reason:
        same >= 0
          ? `stage ${oldPercent}% is now stage ${stage + 1}`
          : `stage ${oldPercent}% no longer exists; holding at ${stages[stage]?.percent}%`,
      data: {
        fromStage: state.stage,
        toStage: stage,
        percentBefore: oldPercent,
        percentAfter: stages[stage]?.percent,
      },
    },
  };
}
