// The comparison: Flagger's default analysis shape, fixed thresholds checked on the treatment alone each interval.
import type { Watcher } from './product-gate.ts';
import { service } from './traffic.ts';

export interface FlaggerConfig {
  /** Failed checks before rollback (Flagger `analysis.threshold`; its docs use 5). */
  threshold: number;
  /** `request-success-rate` thresholdRange min 99 → error rate above 1 % fails. */
  maxErrorPercent: number;
  /** `request-duration` thresholdRange max 500 → P99 above 500 ms fails (the simulation counts requests above it). */
  maxP99Ms: number;
}

export const flaggerDefaults: FlaggerConfig = {
  threshold: 5,
  maxErrorPercent: 1,
  maxP99Ms: service.flaggerLatencyMs,
};

/**
 * One check per 1-minute interval over that minute's treatment traffic. As in Flagger, a failed check
 * increments Status.FailedChecks, which never resets during the analysis, and a query with no samples
 * (no requests this minute) counts as failed. P99 > limit is read as "more than 1 % of the minute's
 * requests above the limit", the histogram's own answer when the limit is a bucket bound.
 */
export function createFlaggerGate(config: FlaggerConfig = flaggerDefaults): Watcher {
  let failed = 0;
  return {
    name: `flagger (${config.threshold} failed checks of >${config.maxErrorPercent}% errors or p99>${config.maxP99Ms}ms)`,
    observe({ treatment: t }) {
      const noData = t.requests === 0;
      const errorPct = noData ? 0 : (100 * t.errors) / t.requests;
      const slow = !noData && t.overFlagger > 0.01 * t.requests;
      if (noData || errorPct > config.maxErrorPercent || slow) failed++;
      return failed >= config.threshold ? `${failed} failed checks` : null;
    },
  };
}
