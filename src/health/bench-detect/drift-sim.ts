// Drift after full rollout (DETECTION.md §5): 95 % treatment against a 5 % holdback, errors only, for 14 healthy days or a +1 %/hour slow rise.
import { assessDefaults } from '../assess.ts';
import { type DriftState, initDrift, updateDrift } from '../detectors/drift.ts';
import { createRng } from './prng.ts';
import { service } from './traffic.ts';

export const holdback = 0.05;
export const driftRatio = 1.2;
/** The product's ARL0 (assess): 14 days of one-minute looks, h = ln(20160) ≈ 9.9. */
export const driftArl0 = assessDefaults.driftArl0Intervals;
/** The bound-calibrated alternative: ARL0 = 14 days / 5 %, so Lorden alone promises ≤ 5 % per 14 days. */
export const strictArl0 = (14 * 1440) / 0.05;
export const aaDays = 14;
export const maxDriftDays = 7;
/** Relative rise in the treatment error rate per hour of the drift scenario. */
export const risePerHour = 0.01;

export interface DriftSeedResult {
  /** A/A: false alarms in 14 days, restarting each detector after it fires. */
  alarms: number[];
  /** Drift: hours from full rollout to the first alarm, null if none within 7 days. */
  hours: (number | null)[];
}

export const driftDetectors = [
  'product CUSUM vs holdback',
  'CUSUM vs holdback, h = ln(ARL0 / 5 %)',
  'fixed-baseline CUSUM',
];

// A one-sample Poisson CUSUM on treatment errors against a fixed per-minute baseline: what a controller
// without a holdback would run. Diurnal traffic moves the count by ±20 %, which it reads as drift.
function fixedBaseline() {
  const expected = service.errorRate * service.requestsPerMinute * (1 - holdback);
  const h = Math.log(driftArl0);
  let w = 0;
  return (errors: number) => {
    w = Math.max(0, w + errors * Math.log(driftRatio) - (driftRatio - 1) * expected);
    if (w <= h) return false;
    w = 0;
    return true;
  };
}

function holdbackCusum(arl0: number) {
  let state: DriftState = initDrift({ ratio: driftRatio, arl0Intervals: arl0 });
  return (interval: { nT: number; nC: number; eT: number; eC: number }) => {
    state = updateDrift(state, interval);
    if (!state.alarm) return false;
    state = initDrift({ ratio: driftRatio, arl0Intervals: arl0 });
    return true;
  };
}

export function runDriftSeed(seed: number, mode: 'aa' | 'drift'): DriftSeedResult {
  const rng = createRng(1000, mode === 'aa' ? 0 : 1, seed);
  const phase = rng.uniform() * 1440;
  const product = holdbackCusum(driftArl0);
  const strict = holdbackCusum(strictArl0);
  const fixed = fixedBaseline();
  const alarms = [0, 0, 0];
  const hours: (number | null)[] = [null, null, null];
  const minutes = (mode === 'aa' ? aaDays : maxDriftDays) * 1440;
  for (let m = 0; m < minutes; m++) {
    const traffic = service.requestsPerMinute * (1 + 0.2 * Math.sin((2 * Math.PI * (m + phase)) / 1440));
    const nT = rng.poisson(traffic * (1 - holdback));
    const nC = rng.poisson(traffic * holdback);
    const ratio = mode === 'aa' ? 1 : 1 + (risePerHour * m) / 60;
    const eT = rng.binomial(nT, service.errorRate * ratio);
    const eC = rng.binomial(nC, service.errorRate);
    const fired = [product({ nT, nC, eT, eC }), strict({ nT, nC, eT, eC }), fixed(eT)];
    for (let i = 0; i < 3; i++) {
      if (!fired[i]) continue;
      alarms[i] = (alarms[i] as number) + 1;
      if (hours[i] === null) hours[i] = (m + 1) / 60;
    }
    if (mode === 'drift' && hours.every((h) => h !== null)) break;
  }
  return { alarms, hours };
}
