// `rollgate validate [dir|file]`: every problem as `file: path: reason`, or JSON for CI tools; an empty folder is a failure.
import fs from 'node:fs';
import path from 'node:path';
import { type LoadResult, loadPlanDir, maxPlanFileBytes, parsePlanText } from '../plans/load.ts';
import { checkPlanSet, formatProblem } from '../plans/validate.ts';

export interface ValidateOutput {
  exitCode: 0 | 1;
  stdout: string;
}

/**
 * One file on its own: its shape and semantics, and its dependencies against the other plans of its folder
 * (only this file's problems are reported, so a broken neighbour does not fail it).
 */
function loadOne(file: string): LoadResult {
  const name = path.basename(file);
  const size = fs.statSync(file).size;
  if (size > maxPlanFileBytes)
    return {
      ok: false,
      problems: [{ file: name, path: '', reason: `${size} bytes is larger than a plan may be` }],
    };
  const parsed = parsePlanText(fs.readFileSync(file, 'utf8'), name);
  if (!parsed.ok) return parsed;
  const folder = loadPlanDir(path.dirname(file));
  const others = folder.ok ? folder.plans.filter((p) => p.file !== name) : [];
  const mine = { file: name, plan: parsed.plan };
  const problems = checkPlanSet([...others, mine]).filter((p) => p.file === name);
  return problems.length ? { ok: false, problems } : { ok: true, plans: [mine] };
}

function load(target: string): LoadResult {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(target);
  } catch (err) {
    return {
      ok: false,
      problems: [{ file: target, path: '', reason: `cannot read: ${(err as NodeJS.ErrnoException).code}` }],
    };
  }
  if (stat.isFile()) return loadOne(target);
  const result = loadPlanDir(target);
  // Served, an empty folder would unserve every flag: it is never "valid".
  if (result.ok && result.plans.length === 0)
    return {
      ok: false,
      problems: [{ file: target, path: '', reason: 'no plan files (*.yaml, *.yml) in this folder' }],
    };
  return result;
}

export function validateCommand(target: string, format: 'text' | 'json'): ValidateOutput {
  const result = load(target);
  if (format === 'json') {
    const body = result.ok
      ? { valid: true, flags: result.plans.map((p) => ({ name: p.plan.name, file: p.file })), problems: [] }
      : { valid: false, flags: [], problems: result.problems };
    return { exitCode: result.ok ? 0 : 1, stdout: `${JSON.stringify(body, null, 2)}\n` };
  }
  if (!result.ok) return { exitCode: 1, stdout: `${result.problems.map(formatProblem).join('\n')}\n` };
  const names = result.plans.map((p) => `  ${p.plan.name} (${p.file})`).join('\n');
  return { exitCode: 0, stdout: `${result.plans.length} plan(s) valid in ${target}\n${names}\n` };
}
