// Semantic checks a schema cannot express: ordering, sums, references between plans, known metrics.
import { RE2JS } from 're2js';
import { parseDuration } from './duration.ts';
import { type Guardrail, knownMetrics, type Plan } from './schema.ts';
import { measuresOf, queriesFor, sourceOf, templateProblems } from './signal-source.ts';

export interface Problem {
  file: string;
  path: string;
  reason: string;
}

export interface SourcedPlan {
  file: string;
  plan: Plan;
}

export function formatProblem(p: Problem): string {
  return `${p.file}: ${p.path || '(root)'}: ${p.reason}`;
}

/** Checks one plan on its own. */
export function checkPlan(plan: Plan, file: string): Problem[] {
  const problems: Problem[] = [];
  const add = (path: string, reason: string) => problems.push({ file, path, reason });

  if (plan.variants) {
    const total = plan.variants.reduce((sum, v) => sum + v.weight, 0);
    if (Math.abs(total - 100) > 1e-9)
      add('variants', `variant weights must sum to 100, they sum to ${total}`);
    const seen = new Set<string>();
    plan.variants.forEach((v, i) => {
      if (seen.has(v.name)) add(`variants[${i}].name`, `variant "${v.name}" appears twice`);
      seen.add(v.name);
      if (v.payload?.type === 'json' && !isJson(v.payload.value)) {
        add(`variants[${i}].payload.value`, 'payload of type json is not valid JSON');
      }
      if (v.payload?.type === 'number' && !Number.isFinite(Number(v.payload.value))) {
        add(`variants[${i}].payload.value`, 'payload of type number is not a number');
      }
    });
  }

  plan.constraints.forEach((c, i) => {
    if (c.operator === 'REGEX' && c.value !== undefined && !compiles(c.value)) {
      add(`constraints[${i}].value`, `"${c.value}" is not a valid RE2 regular expression`);
    }
  });

  const r = plan.rollout;
  if (!r) return problems;
  r.stages.forEach((s, i) => {
    const prev = r.stages[i - 1];
    if (prev && s.percent <= prev.percent) {
      add(
        `rollout.stages[${i}].percent`,
        `stages must strictly increase (${s.percent} after ${prev.percent})`,
      );
    }
    if (s.bake !== undefined && parseDuration(s.bake) === undefined) {
      add(`rollout.stages[${i}].bake`, `"${s.bake}" is not a duration`);
    }
  });
  const last = r.stages.at(-1);
  if (last && last.percent !== 100)
    add(`rollout.stages[${r.stages.length - 1}].percent`, 'the last stage must be 100');

  r.guardrails.forEach((g, i) => {
    const at = `rollout.guardrails[${i}]`;
    if (!(knownMetrics as readonly string[]).includes(g.metric)) {
      add(`${at}.metric`, `unknown metric "${g.metric}" (known: ${knownMetrics.join(', ')})`);
    }
    if (g.quantile !== undefined && g.metric !== 'latency')
      add(`${at}.quantile`, 'quantile applies to latency only');
    if (g.cap !== undefined && g.metric !== 'revenue') add(`${at}.cap`, 'cap applies to revenue only');
    if (g.max !== undefined && g.min !== undefined) add(at, 'use either max or min, not both');
    if (g.max !== undefined && g.worse !== 'higher') add(`${at}.max`, 'a max limit needs worse: higher');
    if (g.min !== undefined && g.worse !== 'lower') add(`${at}.min`, 'a min limit needs worse: lower');
    if ((g.metric === 'errors' || g.metric === 'conversions') && (g.max ?? 0) > 1) {
      add(`${at}.max`, `${g.metric} is a rate between 0 and 1`);
    }
    if (sourceOf(plan, g) === 'prometheus') checkPrometheus(plan, i, add);
    checkSegments(r.guardrails, i, add);
  });
  checkTemplates('rollout.prometheus', r.prometheus, add);
  r.guardrails.forEach((g, i) => {
    checkTemplates(`rollout.guardrails[${i}].prometheus`, g.prometheus, add);
  });

  r.alerts.forEach((a, i) => {
    if (!a.match && !a.matchRe) add(`rollout.alerts[${i}]`, 'a matcher needs match or matchRe');
    for (const [label, re] of Object.entries(a.matchRe ?? {})) {
      if (!compiles(re))
        add(`rollout.alerts[${i}].matchRe.${label}`, `"${re}" is not a valid RE2 regular expression`);
    }
  });
  return problems;
}

type Add = (path: string, reason: string) => void;

/** A Prometheus-sourced guardrail needs a template for each measure its metric is computed from. */
function checkPrometheus(plan: Plan, index: number, add: Add) {
  const g = plan.rollout?.guardrails[index];
  if (!g) return;
  const at = `rollout.guardrails[${index}]`;
  const needs = measuresOf[g.metric];
  if (!needs) {
    add(`${at}.source`, `${g.metric} cannot be read from Prometheus (errors and latency can)`);
    return;
  }
  const q = queriesFor(plan, g);
  for (const m of needs.required) {
    if (!q[m])
      add(
        `${at}.prometheus.${m}`,
        `a Prometheus ${g.metric} guardrail needs a ${m} query (here or in rollout.prometheus)`,
      );
  }
}

/**
 * A signal record carries one segment value, so every `by:` of a plan must name the same field; the segment
 * options mean nothing without `by:`.
 */
function checkSegments(guardrails: readonly Guardrail[], index: number, add: Add) {
  const g = guardrails[index];
  if (!g) return;
  const at = `rollout.guardrails[${index}]`;
  if (g.by === undefined) {
    if (g.maxSegments !== undefined)
      add(`${at}.maxSegments`, 'applies only with by: (the context field to split on)');
    if (g.requireEachSegment !== undefined)
      add(`${at}.requireEachSegment`, 'applies only with by: (the context field to split on)');
    return;
  }
  const first = guardrails.findIndex((o) => o.by !== undefined);
  const other = guardrails[first];
  if (other?.by !== undefined && first < index && other.by !== g.by)
    add(
      `${at}.by`,
      `a signal carries one segment value, so every by: of a flag must name the same field (guardrails[${first}] splits by "${other.by}", this one by "${g.by}")`,
    );
}

function checkTemplates(at: string, queries: Record<string, unknown> | undefined, add: Add) {
  for (const [field, template] of Object.entries(queries ?? {})) {
    if (field === 'latencyUnit' || typeof template !== 'string') continue;
    for (const reason of templateProblems(template)) add(`${at}.${field}`, reason);
  }
}

/** Checks the relations between plans: unique names, dependencies that exist and form no cycle. */
export function checkPlanSet(plans: SourcedPlan[]): Problem[] {
  const problems: Problem[] = [];
  const byName = new Map<string, SourcedPlan>();
  for (const p of plans) {
    const other = byName.get(p.plan.name);
    if (other)
      problems.push({
        file: p.file,
        path: 'name',
        reason: `flag "${p.plan.name}" is also defined in ${other.file}`,
      });
    else byName.set(p.plan.name, p);
  }
  for (const { file, plan } of plans) {
    (plan.dependencies ?? []).forEach((d, i) => {
      const parent = byName.get(d.flag);
      const at = `dependencies[${i}].flag`;
      if (d.flag === plan.name) problems.push({ file, path: at, reason: 'a flag cannot depend on itself' });
      else if (!parent) problems.push({ file, path: at, reason: `depends on unknown flag "${d.flag}"` });
      else {
        const names = new Set((parent.plan.variants ?? []).map((v) => v.name));
        for (const v of d.variants ?? []) {
          if (!names.has(v)) {
            problems.push({
              file,
              path: `dependencies[${i}].variants`,
              reason: `"${d.flag}" has no variant "${v}"`,
            });
          }
        }
      }
    });
  }
  for (const cycle of findCycles(plans.map((p) => p.plan))) {
    const first = byName.get(cycle[0] as string);
    problems.push({
      file: first?.file ?? '?',
      path: 'dependencies',
      reason: `dependency cycle: ${cycle.join(' -> ')}`,
    });
  }
  return problems;
}

function findCycles(plans: Plan[]): string[][] {
  const edges = new Map(plans.map((p) => [p.name, (p.dependencies ?? []).map((d) => d.flag)]));
  const state = new Map<string, 'visiting' | 'done'>();
  const cycles: string[][] = [];
  const visit = (name: string, trail: string[]) => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      cycles.push([...trail.slice(trail.indexOf(name)), name]);
      return;
    }
    state.set(name, 'visiting');
    for (const next of edges.get(name) ?? [])
      if (edges.has(next) && next !== name) visit(next, [...trail, name]);
    state.set(name, 'done');
  };
  for (const name of edges.keys()) visit(name, []);
  return cycles;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Compiled as it will run: RE2 semantics (no lookaround, no backreferences), like the SDKs and alert matching. */
function compiles(re: string): boolean {
  try {
    RE2JS.compile(re);
    return true;
  } catch {
    return false;
  }
}
