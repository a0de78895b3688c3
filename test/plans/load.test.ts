import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { schemaFiles } from '../../src/cli/schemas.ts';
import { loadPlanDir } from '../../src/plans/load.ts';
import { formatProblem } from '../../src/plans/validate.ts';
import { bundledFlagsDir, makeFlagsDir } from '../helpers/rollgate.ts';

const issueExample = `# yaml-language-server: $schema=./schema.json
name: queue.async-tasks
description: Process execution tasks through the durable queue instead of inline
owner: platform
type: release
stickiness: userId
rollout:
  stages:
    - { percent: 1, bake: 10m, minRequests: 500 }
    - { percent: 5, bake: 30m, minRequests: 2000 }
    - { percent: 25, bake: 1h }
    - { percent: 100 }
  guardrails:
    - { metric: errors, worse: higher }                 # relative to control, sequential test
    - { metric: latency, worse: higher, quantile: 0.95 }
    - { metric: errors, worse: higher, max: 0.02 }      # absolute limit (an SLO)
  alerts:
    - { match: { alertname: TaskFailures, service: tasks } }
  onRegression: rollback
  holdback: 2
`;

const head = (name: string) => `name: ${name}\ndescription: d\nowner: o\ntype: release\n`;
const withRollout = (name: string, rollout: string) => `${head(name)}rollout:\n${rollout}`;

function problemsOf(files: Record<string, string>): string[] {
  const r = loadPlanDir(makeFlagsDir([], files));
  return r.ok ? [] : r.problems.map(formatProblem);
}

describe('loading plan files', () => {
  it('accepts the bundled plans and the example from the plan-format spec as written', () => {
    const bundled = loadPlanDir(bundledFlagsDir);
    expect(bundled.ok && bundled.plans.map((p) => p.plan.name)).toEqual([
      'pricing.dynamic-offers',
      'queue.async-tasks',
      'schema.ai-model',
    ]);
    const r = loadPlanDir(makeFlagsDir([], { 'q.yaml': issueExample }));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const plan = r.plans[0]?.plan;
    expect(plan?.rollout?.stages.map((s) => s.percent)).toEqual([1, 5, 25, 100]);
    expect(plan?.rollout?.guardrails[2]).toEqual({ metric: 'errors', worse: 'higher', max: 0.02 });
    expect(plan?.rollout?.holdback).toBe(2);
    expect(plan?.stickiness).toBe('userId');
  });

  const cases: Array<[string, Record<string, string>, string]> = [
    [
      'stages that do not increase',
      { 'a.yaml': withRollout('a', '  stages: [{ percent: 5 }, { percent: 5 }, { percent: 100 }]\n') },
      'a.yaml: rollout.stages[1].percent: stages must strictly increase (5 after 5)',
    ],
    [
      'stages that do not end at 100',
      { 'a.yaml': withRollout('a', '  stages: [{ percent: 5 }, { percent: 50 }]\n') },
      'a.yaml: rollout.stages[1].percent: the last stage must be 100',
    ],
    [
      'variant weights that do not sum to 100',
      { 'a.yaml': `${head('a')}variants:\n  - { name: x, weight: 30 }\n  - { name: y, weight: 30 }\n` },
      'a.yaml: variants: variant weights must sum to 100, they sum to 60',
    ],
    [
      'a duplicate variant name',
      { 'a.yaml': `${head('a')}variants:\n  - { name: x, weight: 50 }\n  - { name: x, weight: 50 }\n` },
      'a.yaml: variants[1].name: variant "x" appears twice',
    ],
    [
      'a json payload that is not JSON',
      {
        'a.yaml': `${head('a')}variants:\n  - { name: x, weight: 100, payload: { type: json, value: "{nope" } }\n`,
      },
      'a.yaml: variants[0].payload.value: payload of type json is not valid JSON',
    ],
    [
      'the same flag name in two files',
      { 'a.yaml': head('dup'), 'b.yaml': head('dup') },
      'b.yaml: name: flag "dup" is also defined in a.yaml',
    ],
    ['an invalid flag name', { 'a.yaml': head('Bad Name') }, 'a.yaml: name: lower-case letters'],
    [
      'a dependency on an unknown flag',
      { 'a.yaml': `${head('a')}dependencies: [{ flag: ghost }]\n` },
      'a.yaml: dependencies[0].flag: depends on unknown flag "ghost"',
    ],
    [
      'a dependency on a missing variant',
      { 'a.yaml': `${head('a')}dependencies: [{ flag: b, variants: [blue] }]\n`, 'b.yaml': head('b') },
      'a.yaml: dependencies[0].variants: "b" has no variant "blue"',
    ],
    [
      'a dependency cycle',
      {
        'a.yaml': `${head('a')}dependencies: [{ flag: b }]\n`,
        'b.yaml': `${head('b')}dependencies: [{ flag: a }]\n`,
      },
      'dependency cycle: a -> b -> a',
    ],
    [
      'a self-dependency',
      { 'a.yaml': `${head('a')}dependencies: [{ flag: a }]\n` },
      'a.yaml: dependencies[0].flag: a flag cannot depend on itself',
    ],
    [
      'a duration that does not parse',
      { 'a.yaml': withRollout('a', '  stages: [{ percent: 100, bake: 10 minutes }]\n') },
      'a.yaml: rollout.stages[0].bake: must be a duration such as 30s, 10m, 1h or 1h30m',
    ],
    [
      'an unknown guardrail metric',
      {
        'a.yaml': withRollout(
          'a',
          '  stages: [{ percent: 100 }]\n  guardrails: [{ metric: happiness, worse: lower }]\n',
        ),
      },
      'a.yaml: rollout.guardrails[0].metric: unknown metric "happiness" (known: errors, latency, conversions, revenue)',
    ],
    [
      'a quantile on a metric that is not latency',
      {
        'a.yaml': withRollout(
          'a',
          '  stages: [{ percent: 100 }]\n  guardrails: [{ metric: errors, worse: higher, quantile: 0.9 }]\n',
        ),
      },
      'a.yaml: rollout.guardrails[0].quantile: quantile applies to latency only',
    ],
    [
      'a max limit on a lower-is-worse guardrail',
      {
        'a.yaml': withRollout(
          'a',
          '  stages: [{ percent: 100 }]\n  guardrails: [{ metric: conversions, worse: lower, max: 0.5 }]\n',
        ),
      },
      'a.yaml: rollout.guardrails[0].max: a max limit needs worse: higher',
    ],
    [
      'an error-rate limit above 1',
      {
        'a.yaml': withRollout(
          'a',
          '  stages: [{ percent: 100 }]\n  guardrails: [{ metric: errors, worse: higher, max: 2 }]\n',
        ),
      },
      'a.yaml: rollout.guardrails[0].max: errors is a rate between 0 and 1',
    ],
    [
      'an alert matcher with a bad regex',
      {
        'a.yaml': withRollout(
          'a',
          '  stages: [{ percent: 100 }]\n  alerts: [{ matchRe: { alertname: "(" } }]\n',
        ),
      },
      'a.yaml: rollout.alerts[0].matchRe.alertname: "(" is not a valid RE2 regular expression',
    ],
    [
      'an alert matcher that RE2 cannot run (lookahead), which would silently never match',
      {
        'a.yaml': withRollout(
          'a',
          '  stages: [{ percent: 100 }]\n  alerts: [{ matchRe: { alertname: "(?=Checkout).*" } }]\n',
        ),
      },
      'a.yaml: rollout.alerts[0].matchRe.alertname: "(?=Checkout).*" is not a valid RE2 regular expression',
    ],
    [
      'an alert matcher with nothing to match',
      { 'a.yaml': withRollout('a', '  stages: [{ percent: 100 }]\n  alerts: [{}]\n') },
      'a.yaml: rollout.alerts[0]: a matcher needs match or matchRe',
    ],
    [
      'an unknown field (a typo)',
      { 'a.yaml': `${head('a')}stickyness: userId\n` },
      'a.yaml: (root): Unrecognized key: "stickyness"',
    ],
    [
      'a missing required field',
      { 'a.yaml': 'name: a\nowner: o\ntype: release\n' },
      'a.yaml: description: Invalid input: expected string, received undefined',
    ],
    ['YAML that does not parse', { 'a.yaml': 'name: [unclosed\n' }, 'a.yaml: line'],
    [
      'a duplicate key',
      { 'a.yaml': `${head('a')}owner: again\n` },
      'a.yaml: line 5: Map keys must be unique',
    ],
  ];

  it.each(cases)('rejects %s, naming file, path and reason', (_label, files, expected) => {
    const problems = problemsOf(files);
    expect(
      problems.some((p) => p.includes(expected)),
      `${problems.join('\n')}\nexpected: ${expected}`,
    ).toBe(true);
  });

  it('reports a plan file it cannot read instead of crashing (a folder named like a plan)', () => {
    const dir = makeFlagsDir([], { 'b.yaml': head('b') });
    fs.mkdirSync(path.join(dir, 'a.yaml'));
    const r = loadPlanDir(dir);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map(formatProblem)).toEqual(['a.yaml: (root): cannot read: EISDIR']);
  });

  it('reports every problem of every file together, and no plans at all', () => {
    const r = loadPlanDir(
      makeFlagsDir([`${bundledFlagsDir}/queue.async-tasks.yaml`], {
        'a.yaml': withRollout('a', '  stages: [{ percent: 50 }]\n'),
        'b.yaml': `${head('b')}variants: [{ name: x, weight: 1 }]\n`,
      }),
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map((p) => p.file)).toEqual(['a.yaml', 'b.yaml']);
  });

  it('keeps the JSON Schemas in flags/ in step with the zod schemas (run `npm run schema` after changing them)', () => {
    for (const [file, generate] of Object.entries(schemaFiles)) {
      expect(fs.readFileSync(path.join(bundledFlagsDir, file), 'utf8'), file).toBe(generate());
    }
  });
});
