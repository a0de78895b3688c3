import { describe, expect, it } from 'vitest';
import { loadPlanDir } from '../../src/plans/load.ts';
import { formatProblem } from '../../src/plans/validate.ts';
import { makeFlagsDir } from '../helpers/rollgate.ts';

const plan = (guardrails: string) => `name: a
description: d
owner: o
type: release
rollout:
  stages: [{ percent: 5 }, { percent: 100 }]
  guardrails:
${guardrails}`;

function problemsOf(text: string): string[] {
  const r = loadPlanDir(makeFlagsDir([], { 'a.yaml': text }));
  return r.ok ? [] : r.problems.map(formatProblem);
}

describe('by: on a guardrail', () => {
  it('accepts a context field, a cap and the hold option', () => {
    const r = loadPlanDir(
      makeFlagsDir([], {
        'a.yaml': plan(
          '    - { metric: errors, worse: higher, by: region, maxSegments: 8, requireEachSegment: true }\n    - { metric: latency, worse: higher, quantile: 0.95, by: region }\n',
        ),
      }),
    );
    expect(r.ok && r.plans[0]?.plan.rollout?.guardrails[0]).toEqual({
      metric: 'errors',
      worse: 'higher',
      by: 'region',
      maxSegments: 8,
      requireEachSegment: true,
    });
  });

  it.each([
    [
      'a field that is not a context field name',
      '    - { metric: errors, worse: higher, by: "re gion" }\n',
      'a.yaml: rollout.guardrails[0].by: must be a context field name such as region, tenantId or plan',
    ],
    [
      'a cap above the limit',
      '    - { metric: errors, worse: higher, by: region, maxSegments: 500 }\n',
      'a.yaml: rollout.guardrails[0].maxSegments:',
    ],
    [
      'a cap without by',
      '    - { metric: errors, worse: higher, maxSegments: 5 }\n',
      'a.yaml: rollout.guardrails[0].maxSegments: applies only with by: (the context field to split on)',
    ],
    [
      'requireEachSegment without by',
      '    - { metric: errors, worse: higher, requireEachSegment: true }\n',
      'a.yaml: rollout.guardrails[0].requireEachSegment: applies only with by: (the context field to split on)',
    ],
    [
      'two fields on one flag',
      '    - { metric: errors, worse: higher, by: region }\n    - { metric: latency, worse: higher, by: tenantId }\n',
      'a.yaml: rollout.guardrails[1].by: a signal carries one segment value, so every by: of a flag must name the same field (guardrails[0] splits by "region", this one by "tenantId")',
    ],
  ])('rejects %s, naming the field', (_label, guardrails, expected) => {
    const problems = problemsOf(plan(guardrails));
    expect(problems.length).toBe(1);
    expect(problems[0]).toContain(expected);
  });
});
