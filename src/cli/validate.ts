// `rollgate validate [dir]`: every problem in a plans folder as `file: path: reason`, or JSON for CI tools.
import { loadPlanDir } from '../plans/load.ts';
import { formatProblem } from '../plans/validate.ts';

export interface ValidateOutput {
  exitCode: 0 | 1;
  stdout: string;
}

export function validateCommand(dir: string, format: 'text' | 'json'): ValidateOutput {
  const result = loadPlanDir(dir);
  if (format === 'json') {
    const body = result.ok
      ? { valid: true, flags: result.plans.map((p) => ({ name: p.plan.name, file: p.file })), problems: [] }
      : { valid: false, flags: [], problems: result.problems };
    return { exitCode: result.ok ? 0 : 1, stdout: `${JSON.stringify(body, null, 2)}\n` };
  }
  if (!result.ok) return { exitCode: 1, stdout: `${result.problems.map(formatProblem).join('\n')}\n` };
  const names = result.plans.map((p) => `  ${p.plan.name} (${p.file})`).join('\n');
  return { exitCode: 0, stdout: `${result.plans.length} plan(s) valid in ${dir}\n${names}\n` };
}
