// How a changed plan maps onto a running rollout's state: the plan owns what, the state owns where.
import type { Plan } from '../plans/schema.ts';
import type { Decision } from './controller.ts';
import type { FlagState } from './state.ts';

/**
 * A new plan owns *what*, the state owns *where*: keep the stage unless it no longer exists. When the stage's
 * percent moved to another index, follow it; when it is gone, step down to the largest smaller stage; when
 * every stage is larger, hold at 0 % (paused before the first stage) until a person resumes. A reload never
 * raises exposure by itself.
 */
export function fitStateToPlan(
  state: FlagState,
  before: Plan | undefined,
  plan: Plan,
  now: number,
): Decision | null {
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
  // Only a running rollout serves its stage; ready, rolled-back and completed ones serve no stage percent.
  if (state.phase !== 'progressing' && state.phase !== 'paused') return null;
  const stages = plan.rollout.stages;
  const oldPercent = before?.rollout?.stages[state.stage]?.percent;
  if (oldPercent === undefined || stages[state.stage]?.percent === oldPercent) return null;
  const same = stages.findIndex((s) => s.percent === oldPercent);
  const lower = stages.reduce((best, s, i) => (s.percent < oldPercent ? i : best), -1);
  const stage = same >= 0 ? same : lower;
  if (stage < 0) {
    const reason = `stage ${oldPercent}% no longer exists and every stage of the new plan is larger; holding at 0% until a person resumes`;
    return {
      next: { ...state, phase: 'paused', stage: -1, stageStartedAt: now, phaseReason: reason, holdKey: null },
      event: {
        type: 'rollout.paused',
        reason,
        data: { fromStage: state.stage, toStage: -1, percentBefore: oldPercent, percentAfter: 0 },
      },
    };
  }
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

/**
 * The file is the source of truth for a plain switch: editing its `enabled:` turns it on or off (an operator's
 * toggle since then is overridden, and the event says so). On a flag with a rollout, `enabled:` means nothing
 * (its kill switch is runtime state), and an event says that instead of ignoring the edit silently.
 */
export function switchEdit(
  state: FlagState,
  before: Plan | undefined,
  plan: Plan,
  file: string,
): Decision | null {
  if (!before || before.enabled === plan.enabled) return null;
  if (plan.rollout) {
    return {
      next: state,
      event: {
        type: 'plan.field-ignored',
        reason: `enabled: ${plan.enabled} in ${file} applies to plain switches; this flag has a rollout, whose kill switch is runtime state (use enable/disable)`,
        data: { field: 'enabled', value: plan.enabled },
      },
    };
  }
  if (state.enabled === plan.enabled) return null;
  return {
    next: { ...state, enabled: plan.enabled },
    event: {
      type: plan.enabled ? 'flag.enabled' : 'flag.disabled',
      reason: `enabled: ${plan.enabled} in ${file}`,
      data: { percentBefore: state.enabled ? 100 : 0, source: 'plan file' },
    },
  };
}
