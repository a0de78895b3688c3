// The plans the product runs in the benchmark: the guardrails of the bundled release and experiment plans, on each scenario's stages, parsed by the plan schema like any plan file.
import { type Plan, type PlanInput, planSchema } from '../../plans/schema.ts';
import type { PlanRole, Scenario } from './scenarios.ts';

type Guardrails = NonNullable<PlanInput['rollout']>['guardrails'];

/** Errors against control, mean log latency, the p99 tail, and an errors ≤ 2 % SLO (as flags/schema.ai-model.yaml). */
const release: Guardrails = [
  { metric: 'errors', worse: 'higher' },
  { metric: 'latency', worse: 'higher' },
  { metric: 'latency', worse: 'higher', quantile: 0.99 },
  { metric: 'errors', worse: 'higher', max: 0.02 },
];

export const guardrailsOf: Record<PlanRole, Guardrails> = {
  release,
  'release-raw': release,
  experiment: [
    { metric: 'conversions', worse: 'lower' },
    { metric: 'revenue', worse: 'lower', cap: 200 },
  ],
  // The drift scenario: what it measures is the error guardrail against the holdback.
  'errors-only': [
    { metric: 'errors', worse: 'higher' },
    { metric: 'errors', worse: 'higher', max: 0.02 },
  ],
};

export const flagOf = (role: PlanRole) => `bench.${role}`;

export function planFor(s: Scenario, role: PlanRole): Plan {
  return planSchema.parse({
    name: flagOf(role),
    description: `detection benchmark: ${s.label}`,
    owner: 'bench',
    type: role === 'experiment' ? 'experiment' : 'release',
    rollout: {
      stages: [
        ...s.stages.map((st) => ({
          percent: st.percent,
          bake: `${st.bakeMinutes}m`,
          ...(st.minRequests !== undefined ? { minRequests: st.minRequests } : {}),
        })),
        { percent: 100 },
      ],
      guardrails: guardrailsOf[role],
      ...(s.holdback !== undefined ? { holdback: s.holdback } : {}),
    },
  });
}
