// The verdict `assess` hands to `reconcile`: per guardrail, plus the split check and exposure, with evidence.
export const guardrailStatuses = ['healthy', 'regressed', 'inconclusive', 'insufficient-data'] as const;
export type GuardrailStatus = (typeof guardrailStatuses)[number];

export interface GuardrailVerdict {
  /** Position in plan.rollout.guardrails. */
  index: number;
  /** Human label, e.g. "errors (relative)", "latency p95", "errors <= 0.02". */
  name: string;
  status: GuardrailStatus;
  /** One line a person can read in a log or a notification: which numbers, which threshold. */
  summary: string;
  /** Sample sizes per arm, observed rates or means, statistic, threshold, always-valid interval. */
  evidence: Record<string, unknown>;
  /** Insufficient-data because this arm has (almost) no traffic: no verdict without a comparison. */
  missing?: 'control';
  /** Set on the per-segment test of a `by:` guardrail: the context field and the value (or "(other)"). */
  segment?: {
    field: string;
    value: string;
    /** The per-segment test's stream key, beside its guardrail's: `<guardrail key>|region=eu`. */
    stream: string;
    /** For "(other)": how many stored values were pooled into it, and the first of their names. */
    pooledValues?: number;
    pooledNames?: string[];
    /** For "(other)": some values arrived past the stored cap and were pooled when stored, unnamed. */
    pooledUnnamed?: boolean;
  };
  /** A segment test whose missing data or inconclusive result holds nothing (the plan does not require it). */
  advisory?: true;
}

export interface SrmVerdict {
  status: 'ok' | 'mismatch' | 'insufficient-data';
  summary: string;
  evidence: Record<string, unknown>;
}

export interface Verdict {
  at: number;
  /** The worst guardrail status: regressed > inconclusive > insufficient-data > healthy. */
  status: GuardrailStatus;
  guardrails: GuardrailVerdict[];
  srm: SrmVerdict;
  /** Treatment and control requests observed in the current stage (minimum exposure is checked on these). */
  exposure: { treatmentRequests: number; controlRequests: number; since: number | null };
  /** True when no signal arrived for this flag within the staleness window: hold, never promote. */
  stale: boolean;
  /**
   * Signal values that arrived for minutes this flag's assessment had already folded in (see the settle lag):
   * stored apart and counted here, never folded in afterwards, so history does not rewrite itself.
   */
  late?: number;
  /** Set when a pulled source (Prometheus) failed or came back empty: hold, never promote, with this reason. */
  sourceProblem?: string;
}

const rank: Record<GuardrailStatus, number> = {
  healthy: 0,
  'insufficient-data': 1,
  inconclusive: 2,
  regressed: 3,
};

export function worstStatus(statuses: GuardrailStatus[]): GuardrailStatus {
  return statuses.reduce<GuardrailStatus>((worst, s) => (rank[s] > rank[worst] ? s : worst), 'healthy');
}
