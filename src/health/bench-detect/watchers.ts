// What watches each simulated rollout: the product's two plan shapes, Flagger's gate, the split check, and diagnostic single tests that explain the product's choices.
import type { Guardrail } from '../../plans/schema.ts';
import { planSchema } from '../../plans/schema.ts';
import { defaultRelative, errorCountForm, guardrailWeight } from '../assess-guardrail.ts';
import { createFlaggerGate } from './flagger-gate.ts';
import { createProductGate, createSrmWatcher, type GateConfig, type Watcher } from './product-gate.ts';
import type { Scenario } from './scenarios.ts';
import { revenuePerVisit } from './traffic.ts';

// The product's own settings, imported rather than copied, so the benchmark measures what assess runs.
export const planAlpha = planSchema.shape.rollout.unwrap().shape.alpha.parse(undefined);
export const { detectorThreshold } = errorCountForm;
const weight = (g: Guardrail) => guardrailWeight(g);

/**
 * A release plan (errors against control, mean latency, p99 tail, errors ≤ 2 %), as in flags/*.yaml, with
 * α split by the product's weights (assess-guardrail.ts): the error test gets most of it because its
 * detection time at a 0.5 % baseline is tens of minutes and scales with ln(1/α); the latency tests decide in
 * minutes; the SLO bound only acts far above baseline.
 */
export const releasePlan: GateConfig = {
  name: 'product: release plan',
  alpha: planAlpha,
  guardrails: [
    {
      kind: 'errors',
      weight: weight({ metric: 'errors', worse: 'higher' }),
      form: errorCountForm.form,
      detectorThreshold,
    },
    {
      kind: 'mean',
      weight: weight({ metric: 'latency', worse: 'higher' }),
      metric: 'latency',
      tau: Math.log(1 + defaultRelative.latency),
    },
    { kind: 'tail', weight: weight({ metric: 'latency', worse: 'higher', quantile: 0.99 }), quantile: 99 },
    { kind: 'slo', weight: weight({ metric: 'errors', worse: 'higher', max: 0.02 }), limit: 0.02 },
  ],
};

/** An experiment plan (conversions and capped revenue per visit, worse is lower), τ = the product's default. */
export const experimentPlan: GateConfig = {
  name: 'product: experiment plan',
  alpha: planAlpha,
  guardrails: [
    {
      kind: 'mean',
      weight: weight({ metric: 'conversions', worse: 'lower' }),
      metric: 'conversions',
      tau: defaultRelative.conversions * 0.05,
    },
    {
      kind: 'mean',
      weight: weight({ metric: 'revenue', worse: 'lower' }),
      metric: 'revenue',
      tau: defaultRelative.revenue * revenuePerVisit,
    },
  ],
};

const errorsAlpha = (planAlpha * weight({ metric: 'errors', worse: 'higher' })) / totalWeight(releasePlan);

function totalWeight(plan: GateConfig): number {
  return plan.guardrails.reduce((sum, g) => sum + g.weight, 0);
}

export type Role =
  | 'release'
  | 'experiment'
  | 'flagger'
  | 'srm'
  | 'cumulative-only'
  | 'reflected-only'
  | 'raw-errors';

/**
 * Roles in result order. A/A runs every watcher for the full day; a regression runs only what its row
 * reports (its plan, Flagger, and for error regressions each form alone), so a seed ends once they fired.
 */
export function rolesFor(s: Scenario): Role[] {
  if (s.kind === 'aa') {
    const roles: Role[] = ['release', 'experiment', 'flagger', 'srm', 'cumulative-only', 'reflected-only'];
    return s.both?.bursty ? [...roles, 'raw-errors'] : roles;
  }
  if (s.kind === 'srm') return ['srm', 'release', 'flagger'];
  const product = productRole(s);
  return s.regressed.errorRate !== undefined
    ? [product, 'flagger', 'cumulative-only', 'reflected-only']
    : [product, 'flagger'];
}

/** The plan that guards the scenario's metric: the one whose verdict is the product's decision there. */
export function productRole(s: Scenario): Role {
  return s.regressed.conversionRate !== undefined ? 'experiment' : 'release';
}

function single(name: string, form: 'cumulative' | 'reflected'): Watcher {
  return createProductGate({
    name,
    alpha: errorsAlpha,
    guardrails: [{ kind: 'errors', weight: 1, form, detectorThreshold }],
  });
}

// The product counts error incidents (a burst is one); this is the release plan fed raw errors instead.
function rawErrors(): Watcher {
  const inner = createProductGate({ ...releasePlan, name: 'release plan fed raw errors' });
  return {
    name: inner.name,
    observe: (tick) =>
      inner.observe({
        ...tick,
        treatment: { ...tick.treatment, incidents: tick.treatment.errors },
        control: { ...tick.control, incidents: tick.control.errors },
      }),
  };
}

export function watchersFor(s: Scenario): Watcher[] {
  const make: Record<Role, () => Watcher> = {
    release: () => createProductGate(releasePlan),
    experiment: () => createProductGate(experimentPlan),
    flagger: () => createFlaggerGate(),
    srm: () => createSrmWatcher(),
    'cumulative-only': () => single('errors, cumulative form only', 'cumulative'),
    'reflected-only': () => single('errors, reflected form only', 'reflected'),
    'raw-errors': rawErrors,
  };
  return rolesFor(s).map((r) => make[r]());
}
