// What watches each simulated rollout: the product's two plan shapes, Flagger's gate, the split check, and diagnostic single tests that explain the product's choices.
import { createFlaggerGate } from './flagger-gate.ts';
import { createProductGate, createSrmWatcher, type GateConfig, type Watcher } from './product-gate.ts';
import type { Scenario } from './scenarios.ts';
import { revenuePerVisit } from './traffic.ts';

export const planAlpha = 0.01;
/** A for the reflected error test: average run length to a false alarm ≥ 10⁵ one-minute looks (69 days). */
export const detectorThreshold = 1e5;

/**
 * A release plan (errors against control, mean latency, p99 tail, errors ≤ 2 %), as in flags/*.yaml.
 * α = 0.01 per rollout, split by weight: the error test gets 0.8 because its detection time at a 0.5 %
 * baseline is tens of minutes and scales with ln(1/α); the latency tests decide in minutes, where a
 * ten-times smaller share costs about a minute; the SLO bound only acts far above baseline.
 */
export const releasePlan: GateConfig = {
  name: 'product: release plan',
  alpha: planAlpha,
  guardrails: [
    { kind: 'errors', weight: 0.8, form: 'both', detectorThreshold },
    { kind: 'mean', weight: 0.1, metric: 'latency', tau: Math.log(1.1) },
    { kind: 'tail', weight: 0.05, quantile: 99 },
    { kind: 'slo', weight: 0.05, limit: 0.02 },
  ],
};

/** An experiment plan (conversions and capped revenue per visit, worse is lower), τ = a 5 % relative change. */
export const experimentPlan: GateConfig = {
  name: 'product: experiment plan',
  alpha: planAlpha,
  guardrails: [
    { kind: 'mean', weight: 0.5, metric: 'conversions', tau: 0.05 * 0.05 },
    { kind: 'mean', weight: 0.5, metric: 'revenue', tau: 0.05 * revenuePerVisit },
  ],
};

const errorsAlpha = planAlpha * 0.8;

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
