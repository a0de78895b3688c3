import { describe, expect, it } from 'vitest';
import type { GuardrailStatus, Verdict } from '../../src/health/verdict.ts';
import { type Plan, planSchema } from '../../src/plans/schema.ts';
import { reconcile } from '../../src/rollout/reconcile.ts';
import { type FlagState, initialState, servedPercent } from '../../src/rollout/state.ts';

const minute = 60_000;
const t0 = Date.parse('2026-03-01T12:00:00Z');

function plan(onRegression: 'rollback' | 'step-back' | 'pause' = 'rollback', holdback?: number): Plan {
  return planSchema.parse({
    name: 'f',
    description: 'd',
    owner: 'o',
    type: 'release',
    rollout: {
      stages: [
        { percent: 1, bake: '10m', minRequests: 100 },
        { percent: 5, bake: '10m', minRequests: 200 },
        { percent: 25, bake: '10m' },
        { percent: 100 },
      ],
      guardrails: [{ metric: 'errors', worse: 'higher' }],
      onRegression,
      ...(holdback ? { holdback } : {}),
    },
  });
}

function at(
  stage: number,
  phase: FlagState['phase'] = 'progressing',
  extra: Partial<FlagState> = {},
): FlagState {
  return { ...initialState(plan(), t0), phase, stage, stageStartedAt: t0, startedAt: t0, ...extra };
}

function verdict(status: GuardrailStatus = 'healthy', opts: Partial<Verdict> = {}): Verdict {
  return {
    at: t0,
    status,
    guardrails: [
      {
        index: 0,
        name: 'errors (relative)',
        status,
        summary: `errors ${status}`,
        evidence: { nT: 500, nC: 50000 },
      },
    ],
    srm: { status: 'ok', summary: 'split as configured', evidence: {} },
    exposure: { treatmentRequests: 1000, controlRequests: 99000, since: t0 },
    stale: false,
    ...opts,
  };
}

describe('reconcile', () => {
  it('holds while the stage bakes, measuring from the persisted stage start', () => {
    const r = reconcile(plan(), at(0), verdict(), t0 + 9 * minute);
    expect(r.decision.action).toBe('hold');
    expect(r.decision.reason).toBe('baking: 9 min of 10 min at stage 1/4 (1%)');
    expect(r.changed).toBe(false);
  });

  it('promotes once bake, exposure and every guardrail pass, starting the next stage now', () => {
    const now = t0 + 10 * minute;
    const r = reconcile(plan(), at(0), verdict(), now);
    expect(r.decision.action).toBe('promote');
    expect(r.next).toMatchObject({ phase: 'progressing', stage: 1, stageStartedAt: now, startedAt: t0 });
    expect(r.eventType).toBe('rollout.promoted');
    expect(r.decision.evidence).toMatchObject({ fromStage: 'stage 1/4 (1%)', stage: 'stage 2/4 (5%)' });
  });

  it('completes when promoting into the last stage, keeping the holdback on control', () => {
    const p = plan('rollback', 2);
    const r = reconcile(p, at(2), verdict(), t0 + 10 * minute);
    expect(r.decision.action).toBe('complete');
    expect(r.next.phase).toBe('completed');
    expect(servedPercent(p, r.next)).toBe(98);
  });

  it('holds below the minimum exposure and records the hold once', () => {
    const thin = verdict('healthy', {
      exposure: { treatmentRequests: 40, controlRequests: 4000, since: t0 },
    });
    const first = reconcile(plan(), at(0), thin, t0 + 20 * minute);
    expect(first.decision).toMatchObject({
      action: 'hold',
      reason: 'waiting for exposure: 40 of 100 treatment requests at stage 1/4 (1%)',
    });
    expect(first.changed).toBe(true);
    const second = reconcile(
      plan(),
      first.next,
      verdict('healthy', { exposure: { treatmentRequests: 60, controlRequests: 6000, since: t0 } }),
      t0 + 21 * minute,
    );
    expect(second.decision.action).toBe('hold');
    expect(second.changed).toBe(false);
  });

  it('never promotes on insufficient data or missing signals, and says why', () => {
    const r = reconcile(plan(), at(0), verdict('insufficient-data'), t0 + 60 * minute);
    expect(r.decision).toMatchObject({
      action: 'hold',
      reason: 'waiting for data on errors (relative): errors insufficient-data',
    });
    const stale = reconcile(plan(), at(0), verdict('healthy', { stale: true }), t0 + 60 * minute);
    expect(stale.decision.action).toBe('hold');
    expect(stale.decision.reason).toMatch(/no signals arrived recently/);
    expect(stale.next.stage).toBe(0);
  });

  it('holds on a sample ratio mismatch', () => {
    const srm = verdict('healthy', {
      srm: { status: 'mismatch', summary: 'treatment share 0.4% vs 1%', evidence: { p: 1e-9 } },
    });
    const r = reconcile(plan(), at(0), srm, t0 + 60 * minute);
    expect(r.decision).toMatchObject({
      action: 'hold',
      reason: 'split looks wrong: treatment share 0.4% vs 1%',
    });
  });

  it('pauses for a person when a guardrail is inconclusive', () => {
    const r = reconcile(plan(), at(1), verdict('inconclusive'), t0 + 60 * minute);
    expect(r.decision.action).toBe('pause');
    expect(r.next.phase).toBe('paused');
  });

  it('rolls back on a regression, with the guardrail evidence, before anything else', () => {
    const regressed = verdict('regressed', {
      srm: { status: 'mismatch', summary: 'x', evidence: {} },
      stale: true,
    });
    const r = reconcile(plan(), at(1), regressed, t0 + minute);
    expect(r.decision.action).toBe('rollback');
    expect(r.next).toMatchObject({ phase: 'rolled-back', stage: 0 });
    expect(servedPercent(plan(), r.next)).toBe(0);
    expect(r.decision.evidence).toMatchObject({
      guardrail: 'errors (relative)',
      nT: 500,
      fromStage: 'stage 2/4 (5%)',
    });
  });

  it('steps back one stage and holds there when the plan says step-back', () => {
    const p = plan('step-back');
    const r = reconcile(p, at(1), verdict('regressed'), t0 + minute);
    expect(r.decision.action).toBe('step-back');
    expect(r.next).toMatchObject({ phase: 'paused', stage: 0 });
    expect(servedPercent(p, r.next)).toBe(1);
    const fromFirst = reconcile(p, at(0), verdict('regressed'), t0 + minute);
    expect(fromFirst.next.phase).toBe('rolled-back');
  });

  it('pauses on a regression when the plan says pause', () => {
    const r = reconcile(plan('pause'), at(2), verdict('regressed'), t0 + minute);
    expect(r.next).toMatchObject({ phase: 'paused', stage: 2 });
  });

  it('watches a completed rollout for drift and rolls it back on a regression', () => {
    const done = at(3, 'completed');
    expect(reconcile(plan(), done, verdict(), t0 + minute).decision.action).toBe('none');
    expect(reconcile(plan(), done, verdict('regressed'), t0 + minute).next.phase).toBe('rolled-back');
  });

  it('keeps the holdback when a regression after completion pauses the rollout', () => {
    const p = plan('pause', 5);
    const r = reconcile(p, at(3, 'completed'), verdict('regressed'), t0 + minute);
    expect(r.next.phase).toBe('paused');
    expect(servedPercent(p, r.next)).toBe(95);
  });

  it('leaves paused, rolled-back, not-started and killed rollouts alone', () => {
    for (const state of [
      at(1, 'paused'),
      at(0, 'rolled-back'),
      at(0, 'ready'),
      at(1, 'progressing', { enabled: false }),
    ]) {
      const r = reconcile(plan(), state, verdict('regressed'), t0 + 60 * minute);
      expect(r.decision.action).toBe('none');
      expect(r.next).toBe(state);
    }
  });

  it('records a hold once per kind and guardrail: latency p95 and latency p99 are two holds', () => {
    const tail = (q: string, summary: string): Verdict['guardrails'][number] => ({
      index: 0,
      name: `latency ${q}`,
      status: 'insufficient-data',
      summary: `latency ${q}: ${summary}`,
      evidence: {},
    });
    const now = t0 + 30 * minute;
    const first = reconcile(
      plan(),
      at(0),
      verdict('insufficient-data', { guardrails: [tail('p95', '12 of 40')] }),
      now,
    );
    expect(first.changed).toBe(true);
    expect(first.eventType).toBe('rollout.held');
    // The same hold with other counts writes nothing.
    const again = reconcile(
      plan(),
      first.next,
      verdict('insufficient-data', { guardrails: [tail('p95', '30 of 40')] }),
      now,
    );
    expect(again.changed).toBe(false);
    // Another guardrail whose name shares every character up to its first digit is another hold.
    const other = reconcile(
      plan(),
      first.next,
      verdict('insufficient-data', { guardrails: [tail('p99', '3 of 9')] }),
      now,
    );
    expect(other.changed).toBe(true);
    expect(other.next.holdKey).toBe('insufficient-data:latency p99');
  });

  it('keeps the percent it left in every automatic rollback, step-back and pause', () => {
    for (const onRegression of ['rollback', 'step-back', 'pause'] as const) {
      const r = reconcile(plan(onRegression), at(1), verdict('regressed'), t0 + minute);
      expect(r.decision.evidence.percentBefore).toBe(5);
    }
  });
});
