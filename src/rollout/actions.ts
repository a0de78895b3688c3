// Manual rollout actions as pure decisions, each allowed only from certain phases (otherwise a clear 409).
import { AppError } from '../errors.ts';
import type { Plan } from '../plans/schema.ts';
import type { Decision, Flag } from './controller.ts';
import type { FlagState, Phase } from './state.ts';

export const rolloutActions = ['start', 'pause', 'resume', 'promote', 'rollback'] as const;
export type RolloutAction = (typeof rolloutActions)[number];

export interface ActionInput {
  reason?: string | undefined;
  /** For promote: the next stage (default) or straight to full. */
  to?: 'next' | 'full' | undefined;
  evidence?: Record<string, unknown> | undefined;
  /** For start: alerts still firing that match this flag; any of them refuses the start unless forced. */
  firingAlerts?: readonly FiringAlert[] | undefined;
  /** For start: start despite firing alerts (the reason is required and recorded). */
  force?: boolean | undefined;
}

export interface FiringAlert {
  /** source/fingerprint/startsAt: the episode, as alert repeats name it. */
  episode: string;
  alertname: string;
  source: string;
  startsAt: string;
}

const allowedFrom: Record<RolloutAction, readonly Phase[]> = {
  start: ['ready', 'rolled-back'],
  pause: ['progressing'],
  resume: ['paused'],
  promote: ['progressing', 'paused'],
  rollback: ['progressing', 'paused', 'completed'],
};

export function stageLabel(plan: Plan, stage: number): string {
  const stages = plan.rollout?.stages ?? [];
  // -1: held at 0 % before the first stage, after a plan change left no stage as small as the old one.
  if (stage < 0) return `before stage 1/${stages.length} (0%)`;
  return `stage ${stage + 1}/${stages.length} (${stages[stage]?.percent ?? 0}%)`;
}

/** Builds the decision for a manual action, or throws CONFLICT naming the phase and what is allowed. */
export function decideAction(flag: Flag, action: RolloutAction, input: ActionInput, now: number): Decision {
  const { plan, state } = flag;
  if (!plan.rollout) throw new AppError('CONFLICT', `flag "${plan.name}" has no rollout in its plan`);
  if (!allowedFrom[action].includes(state.phase)) {
    throw new AppError(
      'CONFLICT',
      `cannot ${action} flag "${plan.name}" while it is ${state.phase} (allowed from: ${allowedFrom[action].join(', ')})`,
      { phase: state.phase, allowedFrom: allowedFrom[action] },
    );
  }
  const reason = input.reason ?? null;
  const evidence = input.evidence ?? {};
  const from = { phaseBefore: state.phase, stageBefore: state.stage, percentBefore: flag.percent };
  switch (action) {
    case 'start': {
      const firing = input.firingAlerts ?? [];
      if (firing.length && !input.force) {
        const first = firing[0] as FiringAlert;
        throw new AppError(
          'CONFLICT',
          `alert ${first.alertname} (${first.source}) has been firing since ${first.startsAt} and rolls back flag "${plan.name}"${firing.length > 1 ? ` (and ${firing.length - 1} more)` : ''}; resolve it first, or start with {"force": true, "reason": "…"}`,
          { firingAlerts: firing },
        );
      }
      return {
        next: {
          ...state,
          phase: 'progressing',
          stage: 0,
          stageStartedAt: now,
          startedAt: now,
          watchSince: null,
          phaseReason: null,
          holdKey: null,
        },
        event: {
          type: 'rollout.started',
          reason,
          data: {
            ...from,
            stage: stageLabel(plan, 0),
            ...(firing.length ? { forcedOver: firing } : {}),
            ...evidence,
          },
        },
      };
    }
    case 'pause':
      return {
        next: { ...state, phase: 'paused', phaseReason: reason ?? 'paused by an operator', holdKey: null },
        event: { type: 'rollout.paused', reason, data: { ...from, ...evidence } },
      };
    case 'resume':
      return {
        // A person has judged what stopped the rollout: the tests watch afresh from now. Held before the
        // first stage (a plan change), resuming enters stage 1.
        next: {
          ...state,
          phase: 'progressing',
          phaseReason: null,
          holdKey: null,
          watchSince: now,
          ...(state.stage < 0 ? { stage: 0, stageStartedAt: now } : {}),
        },
        event: {
          type: 'rollout.resumed',
          reason,
          data: { ...from, ...evidence, watchSince: new Date(now).toISOString() },
        },
      };
    case 'promote': {
      const decision = promote(
        plan,
        state,
        now,
        input.to === 'full' ? plan.rollout.stages.length - 1 : state.stage + 1,
        reason,
        { ...from, ...evidence },
      );
      if (state.phase !== 'paused') return decision;
      // Promoting past a pause is a person overriding what paused it: like resume, the tests watch afresh,
      // or the same sticky verdict would pause it again at the next tick, at a higher percent.
      return {
        next: { ...decision.next, watchSince: now },
        event: {
          ...decision.event,
          data: {
            ...decision.event.data,
            overrode: state.phaseReason,
            watchSince: new Date(now).toISOString(),
          },
        },
      };
    }
    case 'rollback':
      return rollback(state, now, reason, { ...from, ...evidence });
  }
}

/** Moves to `target`; reaching the last stage (100 %) completes the rollout, keeping any holdback on control. */
export function promote(
  plan: Plan,
  state: FlagState,
  now: number,
  target: number,
  reason: string | null,
  data: Record<string, unknown>,
): Decision {
  const last = (plan.rollout?.stages.length ?? 1) - 1;
  const stage = Math.min(target, last);
  if (stage >= last) {
    return {
      next: {
        ...state,
        phase: 'completed',
        stage: last,
        stageStartedAt: now,
        phaseReason: null,
        holdKey: null,
      },
      event: { type: 'rollout.completed', reason, data: { ...data, holdback: plan.rollout?.holdback ?? 0 } },
    };
  }
  return {
    next: { ...state, phase: 'progressing', stage, stageStartedAt: now, phaseReason: null, holdKey: null },
    event: { type: 'rollout.promoted', reason, data: { ...data, stage: stageLabel(plan, stage) } },
  };
}

/**
 * The rollback an alert triggers: the same decision as a manual or regression rollback, but nothing (not a
 * 409) when the rollout is not active, so repeated or late alerts are harmless.
 */
export function rollbackIfActive(flag: Flag, now: number, reason: string, evidence: Record<string, unknown>) {
  if (!flag.plan.rollout || !allowedFrom.rollback.includes(flag.state.phase)) return null;
  return rollback(flag.state, now, reason, {
    fromStage: stageLabel(flag.plan, flag.state.stage),
    phaseBefore: flag.state.phase,
    stageBefore: flag.state.stage,
    percentBefore: flag.percent,
    ...evidence,
  });
}

export function rollback(
  state: FlagState,
  now: number,
  reason: string | null,
  data: Record<string, unknown>,
): Decision {
  return {
    next: {
      ...state,
      phase: 'rolled-back',
      stage: 0,
      stageStartedAt: now,
      phaseReason: reason,
      holdKey: null,
    },
    event: { type: 'rollout.rolled-back', reason, data },
  };
}

/** Back to the previous stage's percent and held there; the users who stay in are the same users. */
export function stepBack(
  plan: Plan,
  state: FlagState,
  now: number,
  reason: string,
  data: Record<string, unknown>,
) {
  if (state.stage === 0) return rollback(state, now, reason, data);
  const stage = state.stage - 1;
  return {
    next: { ...state, phase: 'paused', stage, stageStartedAt: now, phaseReason: reason, holdKey: null },
    event: { type: 'rollout.stepped-back', reason, data: { ...data, stage: stageLabel(plan, stage) } },
  } satisfies Decision;
}
