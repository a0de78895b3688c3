// Several guardrails on one rollout (DETECTION.md §4): split the false-rollback budget, or average e-values, so the family keeps α.
import { logMeanExp } from './split-likelihood.ts';

/**
 * Bonferroni: guardrail i gets alpha·w_i/Σw. If each guardrail's test keeps its own share, the chance that
 * any of them rolls back a healthy change is at most alpha (family-wise, not false-discovery, control:
 * one false rollback is already the failure). Equal weights unless some guardrail matters more.
 */
export function splitAlpha(alpha: number, weights: readonly number[]): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  if (!(total > 0)) throw new Error('splitAlpha needs at least one positive weight');
  return weights.map((w) => (alpha * w) / total);
}

/**
 * The other route: the average of e-values (exp(L), Λ) is an e-value, so rolling back when it reaches
 * 1/alpha keeps alpha for the family. It needs each e-value at its full budget, not a share; it beats
 * Bonferroni when several guardrails move together and loses when one moves alone.
 */
export function averagedEValues(logEValues: readonly number[], alpha: number) {
  const logAverage = logEValues.length > 0 ? logMeanExp(logEValues) : 0;
  const threshold = Math.log(1 / alpha);
  return { logAverage, threshold, rejected: logAverage >= threshold };
}
