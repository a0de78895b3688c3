// The benchmark's scenarios (DETECTION.md §7): healthy rollouts that must not roll back (over a day, a week's hold and a fortnight's holdback), regressions with detection targets, a broken split, and drift after 100 %.
import { type ArmBehaviour, healthy, service } from './traffic.ts';

export const dayMinutes = 24 * 60;

export interface Stage {
  /** Percent served the change at this stage. */
  percent: number;
  /** Minutes the stage bakes before it may advance; the last stage before 100 % bakes past the horizon. */
  bakeMinutes: number;
  minRequests?: number;
}

/** Which product plan watches the rollout (plans.ts); `release-raw` is the release plan fed raw error counts. */
export type PlanRole = 'release' | 'release-raw' | 'experiment' | 'errors-only';

export interface Scenario {
  id: string;
  label: string;
  kind: 'aa' | 'regression' | 'srm' | 'long-aa' | 'drift';
  requestsPerMinute: number;
  /** The rollout's stages before 100 %, in the plan the product runs. */
  stages: readonly Stage[];
  /** Percent kept on control after 100 % (the drift scenarios). */
  holdback?: number;
  horizonMinutes: number;
  /** Minute since the flag flip the regression begins; null for A/A. */
  onset: number | null;
  /** Treatment behaviour once regressed (merged over healthy). */
  regressed: Partial<ArmBehaviour>;
  /** Relative rise of the treatment error rate per hour since the onset (drift). */
  risePerHour?: number;
  both?: Partial<ArmBehaviour>;
  treatmentOnly?: Partial<ArmBehaviour>;
  /** A 30-minute incident hitting both arms: errors ×10, latency ×1.5, starting at a random minute. */
  incident?: boolean;
  /** The product plans run on the same traffic; the first decides the row. */
  plans: readonly PlanRole[];
  /** Flagger and Kayenta gates run beside (they are finite analyses: not for a week's hold or a holdback). */
  baselines: boolean;
  badEvent: 'errors' | 'slow' | 'lost-conversions';
  targetMedianMinutes?: number;
}

const hold = (percent: number, horizon = dayMinutes): Stage[] => [{ percent, bakeMinutes: horizon + 1 }];
const base = {
  requestsPerMinute: service.requestsPerMinute,
  horizonMinutes: dayMinutes,
  regressed: {},
  badEvent: 'errors' as const,
  baselines: true,
};

function aa(id: string, label: string, extra: Partial<Scenario>): Scenario {
  return {
    ...base,
    id,
    label,
    kind: 'aa',
    stages: hold(5),
    onset: null,
    plans: ['release', 'experiment'],
    ...extra,
  };
}

function errors(ratio: number, percent: number, onset: number, target?: number): Scenario {
  const late = onset > 0 ? ` after ${onset} healthy min` : '';
  return {
    ...base,
    id: `errors-${ratio}x-${percent}pct${onset > 0 ? '-late' : ''}`,
    label: `errors ×${ratio} at ${percent}%${late}`,
    kind: 'regression',
    stages: hold(percent),
    onset,
    regressed: { errorRate: service.errorRate * ratio },
    plans: ['release'],
    ...(target !== undefined ? { targetMedianMinutes: target } : {}),
  };
}

const weekMinutes = 7 * dayMinutes;
const fortnightMinutes = 14 * dayMinutes;
/** The drift scenarios reach 100 % after an hour at 50 %, then watch a 5 % holdback. */
const toFull: Stage[] = [{ percent: 50, bakeMinutes: 60 }];

export const scenarios: readonly Scenario[] = [
  aa('aa-1pct', 'A/A at 1%', { stages: hold(1) }),
  aa('aa-5pct', 'A/A at 5%', {}),
  aa('aa-25pct', 'A/A at 25%', { stages: hold(25) }),
  aa('aa-ramp', 'A/A ramp 1→5→25→50%', {
    stages: [
      { percent: 1, bakeMinutes: 60, minRequests: 500 },
      { percent: 5, bakeMinutes: 60, minRequests: 2000 },
      { percent: 25, bakeMinutes: 120 },
      { percent: 50, bakeMinutes: dayMinutes },
    ],
    plans: ['release'],
  }),
  aa('aa-low', 'A/A at 5%, 100 req/min', { requestsPerMinute: 100 }),
  aa('aa-bursts', 'A/A at 5%, errors in bursts of 3–10', {
    both: { bursty: true },
    plans: ['release', 'release-raw'],
  }),
  aa('aa-incident', 'A/A at 5%, incident in both arms', { incident: true, plans: ['release'] }),
  {
    ...aa('aa-hold-7d', 'A/A held 7 days at 5%', {}),
    kind: 'long-aa',
    stages: hold(5, weekMinutes),
    horizonMinutes: weekMinutes,
    plans: ['release'],
    baselines: false,
  },
  {
    ...aa('aa-holdback-14d', 'A/A 14 days after 100% (5% holdback)', {}),
    kind: 'long-aa',
    stages: toFull,
    holdback: 5,
    horizonMinutes: 60 + fortnightMinutes,
    plans: ['release'],
    baselines: false,
  },
  errors(1.5, 1, 0),
  errors(1.5, 5, 0),
  errors(1.5, 25, 0),
  errors(2, 1, 0),
  errors(2, 5, 0, 60),
  errors(2, 25, 0),
  errors(5, 1, 0, 45),
  errors(5, 5, 0, 10),
  errors(5, 25, 0, 5),
  errors(5, 5, 60, 15),
  errors(10, 25, 0),
  {
    ...base,
    id: 'latency-20pct-5pct',
    label: 'latency +20% at 5%',
    kind: 'regression',
    stages: hold(5),
    onset: 0,
    regressed: { latencyShift: Math.log(1.2) },
    plans: ['release'],
    badEvent: 'slow',
    targetMedianMinutes: 5,
  },
  {
    ...base,
    id: 'latency-tail-5pct',
    label: 'tail only: 2% of requests ×4 at 5%',
    kind: 'regression',
    stages: hold(5),
    onset: 0,
    regressed: { slowFraction: 0.02, slowShift: Math.log(4) },
    plans: ['release'],
    badEvent: 'slow',
  },
  {
    ...base,
    id: 'conversion-5pct-25pct',
    label: 'conversion −5% at 25%',
    kind: 'regression',
    stages: hold(25),
    onset: 0,
    regressed: { conversionRate: service.conversionRate * 0.95 },
    plans: ['experiment'],
    badEvent: 'lost-conversions',
  },
  {
    ...base,
    id: 'srm-5pct',
    label: 'split broken: 10% of treatment lost',
    kind: 'srm',
    stages: hold(5),
    onset: 0,
    treatmentOnly: { reported: 0.9 },
    plans: ['release'],
  },
  {
    ...base,
    id: 'drift-1pct-per-hour',
    label: 'drift +1%/h after 100% (5% holdback)',
    kind: 'drift',
    stages: toFull,
    holdback: 5,
    horizonMinutes: 60 + weekMinutes,
    onset: 60,
    regressed: {},
    risePerHour: 0.01,
    plans: ['errors-only'],
    baselines: false,
    targetMedianMinutes: 36 * 60,
  },
];

export function behaviour(over: Partial<ArmBehaviour>[]): ArmBehaviour {
  return Object.assign({}, healthy, ...over);
}
