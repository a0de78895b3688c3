// Which arms a flag's signals may name, and the check every signal path runs before anything is stored.
import type { SignalRecord } from './signal-schema.ts';

/** The arms a flag's signals may name (treatment, control, its variants); undefined for a flag without a plan. */
export type ArmsOf = (flag: string) => readonly string[] | undefined;

export interface ArmProblem {
  index: number;
  path: 'flag' | 'arm';
  reason: string;
}

/**
 * A record for a flag with no plan, or an arm the flag does not have ("Control", "disabled"), is refused: every
 * arm but control counts as treatment, so a typo would otherwise pollute the comparison. Exact case.
 */
export function armProblem(
  r: Pick<SignalRecord, 'flag' | 'arm'>,
  index: number,
  arms: ArmsOf,
): ArmProblem | null {
  const known = arms(r.flag);
  if (!known) return { index, path: 'flag', reason: `no flag named "${r.flag}"` };
  if (!known.includes(r.arm))
    return { index, path: 'arm', reason: `"${r.arm}" is not an arm of ${r.flag} (${known.join(', ')})` };
  return null;
}

export function firstArmProblem(records: readonly SignalRecord[], arms: ArmsOf): ArmProblem | null {
  for (const [index, r] of records.entries()) {
    const problem = armProblem(r, index, arms);
    if (problem) return problem;
  }
  return null;
}
