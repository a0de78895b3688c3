// The rollout state machine: a pure function from plan, state and verdict to the next state and its decision.
import type { Verdict } from '../health/verdict.ts';
import { parseDuration } from '../plans/duration.ts';
import type { Plan } from '../plans/schema.ts';
import { promote, rollback, stageLabel, stepBack } from './actions.ts';
import {
  bakingReason,
  exposureReason,
  inconclusiveReason,
  insufficientReason,
  lateNote,
  promotionReason,
  regressionReason,
  srmReason,
} from './explain.ts';
import { type FlagState, servedPercent } from './state.ts';

export type DecisionAction = 'promote' | 'complete' | 'hold' | 'rollback' | 'step-back' | 'pause' | 'none';

export interface ReconcileResult {
  /** The state to write; identical to the input when the action is none, or a hold whose reason is unchanged. */
  next: FlagState;
  changed: boolean;
  decision: { action: DecisionAction; reason: string; evidence: Record<string, unknown> };
  /** The event type to record when `changed`. */
  eventType: string | null;
}

type Intent = {
  kind: 'rollback' | 'step-back' | 'pause' | 'hold';
  /** What the intent is about, structurally: the hold kind and its guardrail ("insufficient-data:latency p95"). */
  key: string;
  reason: string;
  evidence: Record<string, unknown>;
};

const priority: Record<Intent['kind'], number> = { rollback: 0, 'step-back': 1, pause: 2, hold: 3 };

/**
 * One reconcile pass, as an ordered list of small steps: leave finished or stopped rollouts alone, collect
 * intents from the verdict, resolve the strongest (rollback before pause before hold), and only then
 * consider progress. Waits are measured from the persisted stage start, never from a timer.
 */
export function reconcile(plan: Plan, state: FlagState, verdict: Verdict, now: number): ReconcileResult {
  const result = decide(plan, state, verdict, now);
  const note = lateNote(verdict.late ?? 0);
  if (!note || !result.changed) return result;
  // A decision taken while signals came late says so: the numbers it quotes leave those out.
  const reason = `${result.decision.reason}; ${note}`;
  const next =
    result.next.phaseReason === result.decision.reason
      ? { ...result.next, phaseReason: reason }
      : result.next;
  return { ...result, next, decision: { ...result.decision, reason } };
}

function decide(plan: Plan, state: FlagState, verdict: Verdict, now: number): ReconcileResult {
  const rollout = plan.rollout;
  if (!rollout) return none(state, 'the plan has no rollout');
  if (!state.enabled) return none(state, 'the flag is disabled (kill switch); the rollout does not advance');
  if (state.phase !== 'progressing' && state.phase !== 'completed')
    return none(state, `the rollout is ${state.phase}`);

  const intent = strongest(collectIntents(plan, state, verdict));
  if (intent && intent.kind !== 'hold') return act(plan, state, intent, now);
  if (state.phase === 'completed') return none(state, 'the rollout is complete; watching for drift');
  if (intent) return hold(state, intent);

  const stage = rollout.stages[state.stage];
  const bakeMs = parseDuration(stage?.bake ?? '0') ?? 0;
  const elapsed = now - (state.stageStartedAt ?? now);
  if (elapsed < bakeMs) {
    // Baking is the normal course of a stage, not a hold worth an event.
    const reason = bakingReason(elapsed, bakeMs, stageLabel(plan, state.stage));
    return {
      next: state,
      changed: false,
      decision: { action: 'hold', reason, evidence: { elapsedMs: elapsed, bakeMs } },
      eventType: null,
    };
  }
  const minRequests = stage?.minRequests ?? 0;
  if (verdict.exposure.treatmentRequests < minRequests) {
    return hold(state, {
      kind: 'hold',
      key: 'exposure',
      reason: exposureReason(verdict.exposure.treatmentRequests, minRequests, stageLabel(plan, state.stage)),
      evidence: { exposure: verdict.exposure, minRequests },
    });
  }
  const target = state.stage + 1;
  const reason = promotionReason({
    elapsedMs: elapsed,
    bakeMs,
    treatmentRequests: verdict.exposure.treatmentRequests,
    minRequests,
    verdict,
    plan,
  });
  const decision = promote(plan, state, now, target, reason, {
    fromStage: stageLabel(plan, state.stage),
    percentBefore: servedPercent(plan, state),
    verdict: verdictEvidence(verdict),
  });
  const completes = decision.next.phase === 'completed';
  return {
    next: decision.next,
    changed: true,
    decision: {
      action: completes ? 'complete' : 'promote',
      reason: decision.event.reason ?? '',
      evidence: decision.event.data ?? {},
    },
    eventType: decision.event.type,
  };
}

function collectIntents(plan: Plan, state: FlagState, verdict: Verdict): Intent[] {
  const intents: Intent[] = [];
  const onRegression = plan.rollout?.onRegression ?? 'rollback';
  // First among equals: when a source is down, that is the hold reason a person needs to read.
  if (verdict.sourceProblem && state.phase === 'progressing') {
    intents.push({
      kind: 'hold',
      key: 'source',
      reason: `missing data: ${verdict.sourceProblem}`,
      evidence: { sourceProblem: verdict.sourceProblem },
    });
  }
  for (const g of verdict.guardrails) {
    const evidence = { guardrail: g.name, status: g.status, ...g.evidence };
    const key = `${g.status}:${g.name}`;
    if (g.status === 'regressed')
      intents.push({ kind: onRegression, key, reason: regressionReason(plan, state, g), evidence });
    // A small segment's missing data holds nothing unless the plan requires every segment.
    else if (g.advisory) continue;
    else if (g.status === 'inconclusive' && state.phase === 'progressing') {
      intents.push({ kind: 'pause', key, reason: inconclusiveReason(plan, g), evidence });
    } else if (g.status === 'insufficient-data' && state.phase === 'progressing') {
      intents.push({ kind: 'hold', key, reason: insufficientReason(plan, g), evidence });
    }
  }
  if (verdict.srm.status === 'mismatch') {
    intents.push({
      kind: 'hold',
      key: 'sample-ratio-mismatch',
      reason: srmReason(verdict.srm),
      evidence: verdict.srm.evidence,
    });
  }
  const watched =
    (plan.rollout?.guardrails.length ?? 0) > 0 || plan.rollout?.stages[state.stage]?.minRequests;
  if (verdict.stale && watched && state.phase === 'progressing') {
    intents.push({
      kind: 'hold',
      key: 'stale',
      reason: 'no signals arrived recently; never promoting on missing data',
      evidence: { exposure: verdict.exposure },
    });
  }
  return intents;
}

function strongest(intents: Intent[]): Intent | undefined {
  return intents.reduce<Intent | undefined>(
    (best, i) => (!best || priority[i.kind] < priority[best.kind] ? i : best),
    undefined,
  );
}

function act(plan: Plan, state: FlagState, intent: Intent, now: number): ReconcileResult {
  const data = {
    fromStage: stageLabel(plan, state.stage),
    phaseBefore: state.phase,
    percentBefore: servedPercent(plan, state),
    ...intent.evidence,
  };
  const decision =
    intent.kind === 'rollback'
      ? rollback(state, now, intent.reason, data)
      : intent.kind === 'step-back'
        ? stepBack(plan, state, now, intent.reason, data)
        : {
            next: { ...state, phase: 'paused' as const, phaseReason: intent.reason, holdKey: null },
            event: { type: 'rollout.paused', reason: intent.reason, data },
          };
  const action = decision.next.phase === 'rolled-back' ? 'rollback' : intent.kind;
  return {
    next: decision.next,
    changed: true,
    decision: { action, reason: intent.reason, evidence: data },
    eventType: decision.event.type,
  };
}

/**
 * Holding is recorded once per hold: its structural key (kind and guardrail) lives in the state, so an unchanged
 * hold writes nothing however its counts move, and "latency p95" and "latency p99" stay two holds.
 */
function hold(state: FlagState, intent: Intent): ReconcileResult {
  const changed = state.holdKey !== intent.key;
  return {
    next: changed ? { ...state, phaseReason: intent.reason, holdKey: intent.key } : state,
    changed,
    decision: { action: 'hold', reason: intent.reason, evidence: intent.evidence },
    eventType: changed ? 'rollout.held' : null,
  };
}

function none(state: FlagState, reason: string): ReconcileResult {
  return { next: state, changed: false, decision: { action: 'none', reason, evidence: {} }, eventType: null };
}

export function verdictEvidence(verdict: Verdict) {
  return {
    status: verdict.status,
    guardrails: verdict.guardrails.map((g) => ({
      name: g.name,
      status: g.status,
      summary: g.summary,
      ...g.evidence,
    })),
    srm: verdict.srm,
    exposure: verdict.exposure,
  };
}
