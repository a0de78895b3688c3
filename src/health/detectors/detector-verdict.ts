// What every detector returns: a status with a one-line summary and JSON-ready evidence, the shape `assess` turns into a GuardrailVerdict.
import type { GuardrailStatus } from '../verdict.ts';

export interface DetectorVerdict<E extends object = Record<string, unknown>> {
  status: GuardrailStatus;
  summary: string;
  evidence: E;
  /** Set when the verdict is insufficient-data because an arm is missing: the hold names it first. */
  missing?: 'control';
}

/** Where a sticky alarm fired: the interval index (1-based, in fold order) and the statistic at that moment. */
export interface Alarm {
  interval: number;
  statistic: number;
  threshold: number;
  form: string;
}

/** Rounds for evidence and summaries: enough digits to check by hand, none that pretend to precision. */
export function round(x: number | null, digits = 4): number | null {
  if (x === null || !Number.isFinite(x)) return x;
  return Number(x.toPrecision(digits));
}
