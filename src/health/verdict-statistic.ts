// The one number each detector decides on, and the value at which it acts, read from a guardrail's evidence.

/**
 * Evidence field pairs (statistic, threshold) per detector, all on a log scale: the count test's change-point
 * mixture (or its e-value, in the cumulative form), the mean test's mixture likelihood ratio, the SLO bound's
 * mixture ratio and the drift test's mixture.
 */
const pairs: ReadonlyArray<readonly [string, string]> = [
  ['logChangePoint', 'logEValueThreshold'],
  ['logEValue', 'logEValueThreshold'],
  ['logLambda', 'logThreshold'],
  ['statistic', 'threshold'],
];

export function verdictStatistic(
  evidence: Record<string, unknown>,
): { statistic: number; threshold: number } | undefined {
  for (const [s, t] of pairs) {
    const statistic = evidence[s];
    const threshold = evidence[t];
    if (
      typeof statistic === 'number' &&
      Number.isFinite(statistic) &&
      typeof threshold === 'number' &&
      Number.isFinite(threshold)
    )
      return { statistic, threshold };
  }
  return undefined;
}
