// A flag's runtime state (where its rollout is now) and the percent it serves, derived from plan and state.
import type { Plan } from '../plans/schema.ts';

export const phases = ['static', 'ready', 'progressing', 'paused', 'rolled-back', 'completed'] as const;
export type Phase = (typeof phases)[number];

export interface FlagState {
  flag: string;
  /** The kill switch: false serves the flag off to everyone and stops the rollout advancing. */
  enabled: boolean;
  phase: Phase;
  /** Index into plan.rollout.stages while a rollout runs. */
  stage: number;
  stageStartedAt: number | null;
  startedAt: number | null;
  /**
   * Set when a person resumes the rollout: the sequential tests fold from here instead of the rollout start,
   * so an overridden verdict does not stop the rollout again at the next tick. Null: fold from the start.
   */
  watchSince: number | null;
  phaseReason: string | null;
  /** What the current hold is about (kind and guardrail): a hold is recorded once per key, not per wording. */
  holdKey: string | null;
  version: number;
  updatedAt: number;
}

export function initialState(plan: Plan, now: number): FlagState {
  return {
    flag: plan.name,
    enabled: plan.rollout ? true : plan.enabled,
    phase: plan.rollout ? 'ready' : 'static',
    stage: 0,
    stageStartedAt: null,
    startedAt: null,
    watchSince: null,
    phaseReason: null,
    holdKey: null,
    version: 1,
    updatedAt: now,
  };
}

/** Percent of users served the change. Bucketing is a pure function of this number, so users stay put. */
export function servedPercent(plan: Plan, state: FlagState): number {
  if (!state.enabled) return 0;
  const rollout = plan.rollout;
  if (!rollout) return 100;
  switch (state.phase) {
    case 'progressing':
    case 'paused': {
      const last = rollout.stages.length - 1;
      // Paused at the last stage (a regression after completion, onRegression: pause) keeps the holdback.
      if (state.stage >= last) return 100 - (rollout.holdback ?? 0);
      return rollout.stages[state.stage]?.percent ?? 0;
    }
    case 'completed':
      return 100 - (rollout.holdback ?? 0);
    default:
      return 0;
  }
}
