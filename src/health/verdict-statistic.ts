// The one number each detector decides on, and the value at which it acts, read from a guardrail's evidence.

/**
 * Evidence field pairs (statistic, threshold) per detector, all on a log scale: the count test's e-value,
 * the mean test's mixture likelihood ratio, the SLO bound's mixture ratio, the drift CUSUM.
 */
const pairs: ReadonlyArray<readonly [string, string]> = [
  ['logEValue', 'logEValueThreshold'],
  ['logLambda', 'logThreshold'],
  ['statistic', 'threshold'],
  ['statistic', 'h'],
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
