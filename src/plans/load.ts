// Loads a folder of plan files all-or-nothing: every problem in every file, or every plan.
import fs from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { formatPath } from '../edge.ts';
import { type Plan, planSchema } from './schema.ts';
import { checkPlan, checkPlanSet, type Problem, type SourcedPlan } from './validate.ts';

export type LoadResult = { ok: true; plans: SourcedPlan[] } | { ok: false; problems: Problem[] };

const planFile = /\.ya?ml$/;

/** A plan file larger than this is refused unread: plans are a few hundred bytes. */
export const maxPlanFileBytes = 256 * 1024;

/**
 * Loads every *.yaml / *.yml plan in `dir`. A missing folder reads as an empty one: whether losing every flag
 * is acceptable is the caller's decision (the controller refuses it unless told otherwise).
 */
export function loadPlanDir(dir: string): LoadResult {
  let files: string[];
  try {
    files = fs
      .readdirSync(dir)
      .filter((f) => planFile.test(f) && !f.startsWith('.'))
      .sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ok: true, plans: [] };
    return {
      ok: false,
      problems: [
        {
          file: dir,
          path: '',
          reason: `cannot read folder: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        },
      ],
    };
  }
  const problems: Problem[] = [];
  const plans: SourcedPlan[] = [];
  for (const file of files) {
    let text: string;
    try {
      const size = fs.statSync(path.join(dir, file)).size;
      if (size > maxPlanFileBytes) {
        problems.push({
          file,
          path: '',
          reason: `${size} bytes is larger than the ${maxPlanFileBytes} a plan may have`,
        });
        continue;
      }
      text = fs.readFileSync(path.join(dir, file), 'utf8');
    } catch (err) {
      // A directory named *.yaml, or a file an editor replaced between listing and reading.
      problems.push({
        file,
        path: '',
        reason: `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      });
      continue;
    }
    const result = parsePlanText(text, file);
    if (result.ok) plans.push({ file, plan: result.plan });
    else problems.push(...result.problems);
  }
  problems.push(...checkPlanSet(plans));
  return problems.length ? { ok: false, problems } : { ok: true, plans };
}

export function parsePlanText(
  text: string,
  file: string,
): { ok: true; plan: Plan } | { ok: false; problems: Problem[] } {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    return {
      ok: false,
      problems: doc.errors.map((e) => ({
        file,
        path: e.linePos ? `line ${e.linePos[0].line}` : '',
        reason: firstLine(e.message),
      })),
    };
  }
  let value: unknown;
  try {
    // maxAliasCount bounds alias expansion: a "billion laughs" file is a problem, not a hung or crashed reload.
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    return {
      ok: false,
      problems: [{ file, path: '', reason: `not a plan: ${firstLine((err as Error).message)}` }],
    };
  }
  const parsed = planSchema.safeParse(value);
  if (!parsed.success) return { ok: false, problems: zodProblems(parsed.error, file) };
  const problems = checkPlan(parsed.data, file);
  return problems.length ? { ok: false, problems } : { ok: true, plan: parsed.data };
}

export function zodProblems(error: z.ZodError, file: string): Problem[] {
  return error.issues.map((issue) => ({ file, path: formatPath(issue.path), reason: issue.message }));
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}
