// Which of a plan's guardrails read Prometheus, and the PromQL templates they need: shared by validation and the poller.
import type { Guardrail, Plan, PrometheusQueries } from './schema.ts';

/** What a Prometheus-sourced plan reads per arm, and from which template. */
export type PrometheusMeasure = 'requests' | 'errors' | 'latency' | 'latencySum';

export const templateVariables = ['flag', 'arm', 'interval'] as const;

export const sourceOf = (plan: Plan, g: Guardrail) => g.source ?? plan.rollout?.source ?? 'signals';

/** The templates in force for a guardrail: its own fields over the rollout's. */
export const queriesFor = (plan: Plan, g: Guardrail): PrometheusQueries => ({
  ...plan.rollout?.prometheus,
  ...g.prometheus,
});

/** The measures each Prometheus-sourced metric needs; conversions and revenue have no Prometheus mapping. */
export const measuresOf: Record<string, { required: PrometheusMeasure[]; optional: PrometheusMeasure[] }> = {
  errors: { required: ['requests', 'errors'], optional: [] },
  latency: { required: ['latency'], optional: ['requests', 'latencySum'] },
};

export interface PrometheusPlan {
  /** Template per measure the poller runs for every arm. */
  templates: Partial<Record<PrometheusMeasure, string>>;
  latencyUnit: 's' | 'ms';
}

/** What the poller queries for a plan, or undefined when no guardrail reads Prometheus. */
export function prometheusPlan(plan: Plan): PrometheusPlan | undefined {
  const guardrails = (plan.rollout?.guardrails ?? []).filter((g) => sourceOf(plan, g) === 'prometheus');
  if (!guardrails.length) return undefined;
  const templates: PrometheusPlan['templates'] = {};
  let latencyUnit: 's' | 'ms' = 's';
  for (const g of guardrails) {
    const q = queriesFor(plan, g);
    const needs = measuresOf[g.metric];
    for (const m of [...(needs?.required ?? []), ...(needs?.optional ?? [])]) {
      const template = q[m];
      if (template && !templates[m]) templates[m] = template;
    }
    if (g.metric === 'latency' && q.latencyUnit) latencyUnit = q.latencyUnit;
  }
  return { templates, latencyUnit };
}

/** Problems with one template: `$arm` is required (else both arms read one series), and no unknown `$name`. */
export function templateProblems(template: string): string[] {
  const problems: string[] = [];
  const used = [...template.matchAll(/\$([A-Za-z_]\w*)/g)].map((m) => m[1] as string);
  for (const name of used) {
    if (!(templateVariables as readonly string[]).includes(name))
      problems.push(`unknown variable $${name} (known: ${templateVariables.map((v) => `$${v}`).join(', ')})`);
  }
  if (!used.includes('arm')) problems.push('must select one arm with $arm');
  return problems;
}

/** The context field a plan's `by:` guardrails split on (one per plan, checked by validation), if any. */
export const segmentFieldOf = (plan: Plan): string | undefined =>
  plan.rollout?.guardrails.find((g) => g.by !== undefined)?.by;
