import { describe, expect, it } from 'vitest';
import { loadPlanDir } from '../../src/plans/load.ts';
import { prometheusPlan } from '../../src/plans/signal-source.ts';
import { formatProblem } from '../../src/plans/validate.ts';
import { makeFlagsDir } from '../helpers/rollgate.ts';

const requests = 'sum(increase(http_requests_total{flag="$flag",arm="$arm"}[$interval]))';
const errors = 'sum(increase(http_requests_total{flag="$flag",arm="$arm",code=~"5.."}[$interval]))';

const planWith = (rollout: string) => `name: p.prom
description: d
owner: o
type: release
rollout:
  stages: [{ percent: 10 }, { percent: 100 }]
${rollout}`;

function load(rollout: string) {
  const r = loadPlanDir(makeFlagsDir([], { 'p.yaml': planWith(rollout) }));
  return r.ok
    ? { plan: r.plans[0]?.plan, problems: [] }
    : { plan: undefined, problems: r.problems.map(formatProblem) };
}

describe('Prometheus-sourced guardrails in plan files', () => {
  it('accepts a plan-level source with the templates its guardrails need', () => {
    const { plan, problems } = load(`  source: prometheus
  prometheus: { requests: '${requests}', errors: '${errors}' }
  guardrails: [{ metric: errors, worse: higher }]
`);
    expect(problems).toEqual([]);
    expect(plan && prometheusPlan(plan)).toEqual({ templates: { requests, errors }, latencyUnit: 's' });
  });

  it('lets one guardrail read Prometheus while the others keep pushed signals', () => {
    const { plan, problems } = load(`  guardrails:
    - { metric: errors, worse: higher }
    - metric: latency
      worse: higher
      source: prometheus
      prometheus: { latency: 'sum by (le) (increase(d_bucket{arm="$arm"}[$interval]))', latencyUnit: ms }
`);
    expect(problems).toEqual([]);
    expect(plan && prometheusPlan(plan)?.templates).toEqual({
      latency: 'sum by (le) (increase(d_bucket{arm="$arm"}[$interval]))',
    });
    expect(plan && prometheusPlan(plan)?.latencyUnit).toBe('ms');
  });

  it('names the missing query, a template without $arm, an unknown variable, and metrics Prometheus cannot give', () => {
    const { problems } = load(`  source: prometheus
  prometheus: { requests: 'sum(rate(x{flag="$flag"}[$intervl]))' }
  guardrails:
    - { metric: errors, worse: higher }
    - { metric: conversions, worse: lower }
`);
    expect(problems).toEqual([
      'p.yaml: rollout.guardrails[0].prometheus.errors: a Prometheus errors guardrail needs a errors query (here or in rollout.prometheus)',
      'p.yaml: rollout.guardrails[1].source: conversions cannot be read from Prometheus (errors and latency can)',
      'p.yaml: rollout.prometheus.requests: unknown variable $intervl (known: $flag, $arm, $interval)',
      'p.yaml: rollout.prometheus.requests: must select one arm with $arm',
    ]);
  });
});
