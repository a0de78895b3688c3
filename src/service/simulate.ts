// Simulated task work, deterministic given a seed: how long an attempt runs, whether it fails, what it returns.
import { createHash } from 'node:crypto';
import type { TaskType } from './task-store.ts';

export interface WorkKnobs {
  seed: string;
  /** Typical run time of a self-improvement task; ideas implementation runs 20 % longer (as the proposal measured). */
  workMs: number;
  /** Chance that any attempt fails, on either path. */
  failureRate: number;
  /** Extra chance that an attempt fails on the queued path only: the injected defect a rollout must catch. */
  queueDefectRate: number;
  /**
   * Extra chance, per region, that a queued attempt fails for tasks from that region only (a regional
   * dependency gone bad): a regression a guardrail `by: region` finds while the total still looks healthy.
   */
  regionDefects: Record<string, number>;
}

export const defaultWorkKnobs: WorkKnobs = {
  seed: 'rollgate',
  workMs: 50,
  failureRate: 0.005,
  queueDefectRate: 0,
  regionDefects: {},
};

export interface WorkSubject {
  tenantId: string;
  userId: string;
  type: TaskType;
  input: unknown;
  /** The region the task came from, when its caller named one. */
  region?: string | undefined;
}

export interface WorkPlan {
  durationMs: number;
  error: string | null;
  result: Record<string, unknown>;
}

const typeFactor: Record<TaskType, number> = { 'ideas-implementation': 1.2, 'self-improvement': 1 };

/** A uniform draw in [0, 1) from the seed and a label: the same inputs always draw the same number. */
export function draw(seed: string, ...parts: Array<string | number>): number {
  return (
    createHash('sha256')
      .update([seed, ...parts].join('\u0000'))
      .digest()
      .readUInt32BE(0) /
    2 ** 32
  );
}

/**
 * Plans one attempt. Draws depend on the task's content and the attempt number, never on its id or the clock,
 * and both paths share the failure draw, so the queued path fails exactly where the inline path would plus the
 * defect's share on top.
 */
export function planWork(
  knobs: WorkKnobs,
  task: WorkSubject,
  attempt: number,
  path: 'inline' | 'queued',
): WorkPlan {
  const key = `${task.tenantId}\u0000${task.userId}\u0000${task.type}\u0000${JSON.stringify(task.input ?? null)}`;
  // Lognormal-ish spread (σ ≈ 0.3) so latency guardrails see a realistic distribution.
  const u1 = Math.max(draw(knobs.seed, key, attempt, 'duration-a'), 1e-12);
  const u2 = draw(knobs.seed, key, attempt, 'duration-b');
  const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  const durationMs = Math.max(0, Math.round(knobs.workMs * typeFactor[task.type] * Math.exp(0.3 * z)));
  const failDraw = draw(knobs.seed, key, attempt, 'failure');
  const regional = task.region === undefined ? 0 : (knobs.regionDefects[task.region] ?? 0);
  const failChance = knobs.failureRate + (path === 'queued' ? knobs.queueDefectRate + regional : 0);
  const error = failDraw < failChance ? `simulated ${path} failure on attempt ${attempt}` : null;
  const quality = draw(knobs.seed, key, 'result');
  const result =
    task.type === 'ideas-implementation'
      ? { outcome: 'implemented', steps: 1 + Math.floor(quality * 8) }
      : { outcome: 'improved', score: Math.round(quality * 100) / 100 };
  return { durationMs, error, result };
}
