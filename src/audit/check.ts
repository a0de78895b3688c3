// One audit finding: what was checked, how it came out, the numbers that decided it and what to do.
export type AuditStatus = 'pass' | 'warn' | 'fail';

export interface AuditCheck {
  /** Stable id of the check kind, e.g. 'power', 'blind-spot.no-guardrail', 'sdk-reach'. */
  check: string;
  status: AuditStatus;
  /** The flag (or SDK instance) it is about, when it is about one. */
  subject?: string;
  /** One sentence for a person on call, with the numbers. */
  summary: string;
  /** The numbers that decided it. */
  numbers: Record<string, number | string | boolean | null>;
  /** What to do about it (empty for a pass). */
  action: string;
}
