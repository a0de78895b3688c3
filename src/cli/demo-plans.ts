// The bundled plans, compressed for the demo: shorter bakes and smaller exposure minimums, the same stages.
import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { formatDuration, parseDuration } from '../plans/duration.ts';
import { loadPlanDir } from '../plans/load.ts';
import type { Guardrail, Plan } from '../plans/schema.ts';

export interface Compression {
  /** Longest bake any stage keeps, in simulated time. */
  maxBakeMs: number;
  /** Minimum exposures are divided by this. */
  exposureDivisor: number;
  /**
   * And then kept to at most this many treatment requests: the bundled plans ask for what their guardrails
   * need at the real targets (hundreds of thousands for a 5 % revenue drop), which the demo's minutes of
   * traffic cannot give. Kept small (50): the longer a stage of the queue change runs in the demo, the more its
   * tail test sees of the queue hop the time compression magnifies (src/cli/demo.ts), not of the change.
   */
  maxMinRequests: number;
  /**
   * Count guardrails (relative errors, latency tails) may pass a stage once a rise of this fold would have
   * shown, instead of the default 2×: the demo's minutes of traffic cannot rule out a doubling at 1 %.
   */
  errorRatio: number;
}

const isCountTest = (g: Guardrail) =>
  g.max === undefined && g.min === undefined && (g.metric === 'errors' || g.quantile !== undefined);

export function compressPlan(plan: Plan, c: Compression): Plan {
  if (!plan.rollout) return plan;
  return {
    ...plan,
    rollout: {
      ...plan.rollout,
      stages: plan.rollout.stages.map((s) => ({
        ...s,
        ...(s.bake ? { bake: formatDuration(Math.min(parseDuration(s.bake) ?? 0, c.maxBakeMs)) } : {}),
        ...(s.minRequests
          ? { minRequests: Math.min(Math.ceil(s.minRequests / c.exposureDivisor), c.maxMinRequests) }
          : {}),
      })),
      guardrails: plan.rollout.guardrails.map((g) =>
        isCountTest(g) ? { ...g, relative: c.errorRatio - 1 } : g,
      ),
    },
  };
}

/** Writes compressed copies of every plan in `from` into `to`, validating them on the way back in. */
export function writeDemoPlans(from: string, to: string, c: Compression): Plan[] {
  const loaded = loadPlanDir(from);
  if (!loaded.ok)
    throw new Error(`bundled plans are invalid: ${loaded.problems.map((p) => p.reason).join('; ')}`);
  for (const { plan, file } of loaded.plans) {
    fs.writeFileSync(path.join(to, file), stringify(compressPlan(plan, c)));
  }
  const check = loadPlanDir(to);
  if (!check.ok)
    throw new Error(`compressed plans are invalid: ${check.problems.map((p) => p.reason).join('; ')}`);
  return check.plans.map((p) => p.plan);
}
