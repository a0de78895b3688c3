// The comparisons, on the same minutes the product sees: Flagger's canary analysis as Flagger runs it, and a Kayenta-style judge (Mann-Whitney per interval, canary against baseline).
import { type ArmMinute, histogramQuantile } from './reporter.ts';

export interface Minute {
  /** Minutes since the flag flip. */
  minute: number;
  treatment: ArmMinute;
  control: ArmMinute;
}

/** A gate decides once: roll back (the change failed) or promote (it passed); null while it is still analysing. */
export interface Gate {
  readonly name: string;
  observe(m: Minute): { action: 'rollback' | 'promote'; reason: string } | null;
}

export interface FlaggerSettings {
  name: string;
  /** `analysis.interval`: one check per interval, over that interval's canary traffic. */
  intervalMinutes: number;
  /** `analysis.threshold`: failed checks before rollback. */
  threshold: number;
  /** `analysis.stepWeight` and `maxWeight`: passing checks move the weight up one step; one more at max promotes. */
  stepWeight: number;
  maxWeight: number;
  /** `request-success-rate` thresholdRange min (99 → error rate above 1 % fails). */
  minSuccessPercent: number;
  /** `request-duration` thresholdRange max: histogram_quantile(0.99) above this fails. */
  maxP99Ms: number;
}

/** Flagger's documented example (interval 1m, threshold 5, stepWeight 10, maxWeight 50, success ≥ 99 %, p99 ≤ 500 ms). */
export const flaggerSettings: readonly FlaggerSettings[] = [
  {
    name: 'Flagger docs (1m, threshold 5, step 10 → 50)',
    intervalMinutes: 1,
    threshold: 5,
    stepWeight: 10,
    maxWeight: 50,
    minSuccessPercent: 99,
    maxP99Ms: 500,
  },
  {
    name: 'Flagger slow (5m, threshold 5, step 5 → 50)',
    intervalMinutes: 5,
    threshold: 5,
    stepWeight: 5,
    maxWeight: 50,
    minSuccessPercent: 99,
    maxP99Ms: 500,
  },
  {
    name: 'Flagger strict (1m, threshold 2, step 5 → 50)',
    intervalMinutes: 1,
    threshold: 2,
    stepWeight: 5,
    maxWeight: 50,
    minSuccessPercent: 99,
    maxP99Ms: 500,
  },
];

function sumMinutes(minutes: readonly ArmMinute[]) {
  const bins = (minutes[0]?.bins ?? []).map(() => 0);
  let requests = 0;
  let errors = 0;
  for (const m of minutes) {
    requests += m.requests;
    errors += m.errors;
    m.bins.forEach((n, i) => {
      bins[i] = (bins[i] as number) + n;
    });
  }
  return { requests, errors, bins };
}

/**
 * As Flagger's scheduler (pkg/controller/scheduler.go) runs a canary: each interval it first rolls back when
 * Status.FailedChecks has reached `threshold` (the counter is never reset during an analysis, only when a new
 * revision restarts it); otherwise a failed check (a metric out of range, or no values: no canary requests)
 * increments it and holds the weight, and a passing check advances one step, promoting after the step at
 * maxWeight. The weight steps are Flagger's; the traffic is the scenario's exposure, so every gate reads the
 * same requests.
 */
export function createFlaggerGate(s: FlaggerSettings): Gate {
  const stepsToPromote = Math.ceil(s.maxWeight / s.stepWeight) + 1;
  let failed = 0;
  let passed = 0;
  let window: ArmMinute[] = [];
  return {
    name: s.name,
    observe({ treatment }) {
      window.push(treatment);
      if (window.length < s.intervalMinutes) return null;
      const canary = sumMinutes(window);
      window = [];
      if (failed >= s.threshold) return { action: 'rollback', reason: `${failed} failed checks` };
      const p99 = histogramQuantile(canary.bins, 0.99);
      const errorPercent = canary.requests > 0 ? (100 * canary.errors) / canary.requests : null;
      const ok =
        errorPercent !== null &&
        p99 !== null &&
        100 - errorPercent >= s.minSuccessPercent &&
        p99 <= s.maxP99Ms;
      if (!ok) failed++;
      else if (++passed >= stepsToPromote) return { action: 'promote', reason: `${passed} checks passed` };
      return null;
    },
  };
}

export interface KayentaSettings {
  name: string;
  /** Minutes per judgement; each minute is one sample of each metric per arm. */
  intervalMinutes: number;
  /** Judgements before the canary passes (the analysis lifetime / interval). */
  intervals: number;
  /** Score thresholds (Spinnaker's defaults): below marginal fails at once; the last must reach pass. */
  marginal: number;
  pass: number;
  /** NetflixACAJudge's Mann-Whitney confidence level (0.98), as the normal quantile of its two-sided interval. */
  confidence: number;
  criticalZ: number;
}

export const kayentaSettings: readonly KayentaSettings[] = [
  {
    name: 'Kayenta-style (1h × 3, 98%)',
    intervalMinutes: 60,
    intervals: 3,
    marginal: 75,
    pass: 95,
    confidence: 0.98,
    criticalZ: 2.3263,
  },
  {
    name: 'Kayenta-style (1h × 24, 98%)',
    intervalMinutes: 60,
    intervals: 24,
    marginal: 75,
    pass: 95,
    confidence: 0.98,
    criticalZ: 2.3263,
  },
];

/** Per-minute samples of the judged metrics (higher is worse for each); a minute without requests gives none. */
const metrics: { name: string; of: (m: ArmMinute) => number | null }[] = [
  { name: 'error rate', of: (m) => (m.requests > 0 ? m.errors / m.requests : null) },
  { name: 'mean latency', of: (m) => (m.requests > 0 ? m.latencySumMs / m.requests : null) },
  { name: 'p99 latency', of: (m) => histogramQuantile(m.bins, 0.99) },
];

/**
 * Mann-Whitney U with mid-ranks and the tie-corrected normal approximation: the z of "canary tends higher".
 * Null when either sample is empty or every value ties (Kayenta classifies those Nodata and Pass).
 */
export function mannWhitneyZ(canary: readonly number[], baseline: readonly number[]): number | null {
  const n1 = canary.length;
  const n2 = baseline.length;
  if (n1 === 0 || n2 === 0) return null;
  const all = [...canary.map((v) => ({ v, c: 1 })), ...baseline.map((v) => ({ v, c: 0 }))].sort(
    (a, b) => a.v - b.v,
  );
  const n = all.length;
  let rankSum = 0;
  let ties = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && (all[j + 1] as { v: number }).v === (all[i] as { v: number }).v) j++;
    const rank = (i + j) / 2 + 1;
    const t = j - i + 1;
    ties += t * t * t - t;
    for (let k = i; k <= j; k++) if ((all[k] as { c: number }).c === 1) rankSum += rank;
    i = j + 1;
  }
  const u = rankSum - (n1 * (n1 + 1)) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - ties / (n * (n - 1)));
  if (!(variance > 0)) return null;
  return (u - (n1 * n2) / 2) / Math.sqrt(variance);
}

/**
 * A Kayenta-style judge: every interval, each metric's canary samples against the baseline's (control, the same
 * traffic share of the old version) by Mann-Whitney; a metric is High when the two-sided interval at
 * `confidence` lies above zero and the canary's mean is above the baseline's (allowed increase 1.0). Score =
 * 100 × passing metrics / metrics; below `marginal` rolls back, the last interval must reach `pass` to promote.
 */
export function createKayentaJudge(s: KayentaSettings): Gate {
  const critical = s.criticalZ;
  let canary: ArmMinute[] = [];
  let baseline: ArmMinute[] = [];
  let judged = 0;
  return {
    name: s.name,
    observe({ treatment, control }) {
      canary.push(treatment);
      baseline.push(control);
      if (canary.length < s.intervalMinutes) return null;
      const high = metrics.filter((metric) => {
        const c = canary.map(metric.of).filter((v): v is number => v !== null);
        const b = baseline.map(metric.of).filter((v): v is number => v !== null);
        const z = mannWhitneyZ(c, b);
        const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
        return z !== null && z > critical && mean(c) > mean(b);
      });
      canary = [];
      baseline = [];
      judged++;
      const score = (100 * (metrics.length - high.length)) / metrics.length;
      const names = high.map((m) => m.name).join(', ');
      if (score < s.marginal)
        return { action: 'rollback', reason: `score ${score.toFixed(0)} (${names} high)` };
      if (judged < s.intervals) return null;
      return score >= s.pass
        ? { action: 'promote', reason: `score ${score.toFixed(0)}` }
        : { action: 'rollback', reason: `final score ${score.toFixed(0)} < ${s.pass}` };
    },
  };
}
