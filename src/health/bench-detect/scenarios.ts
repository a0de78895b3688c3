// The benchmark's scenarios (DETECTION.md §7): healthy rollouts that must not roll back, regressions with detection targets, and a broken split.
import { type ArmBehaviour, healthy, service } from './traffic.ts';

export interface Stage {
  /** Minute since the flag flip at which this exposure starts. */
  at: number;
  /** Treatment share of traffic. */
  share: number;
}

export interface Scenario {
  id: string;
  label: string;
  kind: 'aa' | 'regression' | 'srm';
  requestsPerMinute: number;
  stages: readonly Stage[];
  /** Minute the regression begins (0: at the flag flip), null for A/A. */
  onset: number | null;
  /** Treatment behaviour once regressed (merged over healthy). */
  regressed: Partial<ArmBehaviour>;
  /** Behaviour of both arms throughout (bursty errors, a reporting fault). */
  both?: Partial<ArmBehaviour>;
  treatmentOnly?: Partial<ArmBehaviour>;
  /** A 30-minute incident hitting both arms: errors ×10, latency ×1.5, starting at a random minute. */
  incident?: boolean;
  /** What "bad events served before rollback" counts for this scenario. */
  badEvent: 'errors' | 'over95' | 'over99' | 'lost-conversions';
  /** The target: median detection delay in minutes, or the A/A false-rollback ceiling. */
  targetMedianMinutes?: number;
}

const fixed = (share: number): Stage[] => [{ at: 0, share }];
const base = { requestsPerMinute: service.requestsPerMinute, regressed: {}, badEvent: 'errors' as const };

function aa(id: string, label: string, extra: Partial<Scenario>): Scenario {
  return { ...base, id, label, kind: 'aa', stages: fixed(0.05), onset: null, ...extra };
}

function errors(ratio: number, share: number, onset: number, target?: number): Scenario {
  const late = onset > 0 ? ` after ${onset} healthy min` : '';
  return {
    ...base,
    id: `errors-${ratio}x-${share * 100}pct${onset > 0 ? '-late' : ''}`,
    label: `errors ×${ratio} at ${share * 100}%${late}`,
    kind: 'regression',
    stages: fixed(share),
    onset,
    regressed: { errorRate: service.errorRate * ratio },
    ...(target !== undefined ? { targetMedianMinutes: target } : {}),
  };
}

export const scenarios: readonly Scenario[] = [
  aa('aa-1pct', 'A/A at 1%', { stages: fixed(0.01) }),
  aa('aa-5pct', 'A/A at 5%', {}),
  aa('aa-25pct', 'A/A at 25%', { stages: fixed(0.25) }),
  aa('aa-ramp', 'A/A ramp 1→5→25→50%', {
    stages: [
      { at: 0, share: 0.01 },
      { at: 60, share: 0.05 },
      { at: 120, share: 0.25 },
      { at: 240, share: 0.5 },
    ],
  }),
  aa('aa-low', 'A/A at 5%, 100 req/min', { requestsPerMinute: 100 }),
  aa('aa-bursts', 'A/A at 5%, errors in bursts of 3–10', { both: { bursty: true } }),
  aa('aa-incident', 'A/A at 5%, incident in both arms', { incident: true }),
  errors(1.5, 0.01, 0),
  errors(1.5, 0.05, 0),
  errors(1.5, 0.25, 0),
  errors(2, 0.01, 0),
  errors(2, 0.05, 0, 60),
  errors(2, 0.25, 0),
  errors(5, 0.01, 0, 45),
  errors(5, 0.05, 0, 10),
  errors(5, 0.25, 0, 5),
  errors(5, 0.05, 60, 15),
  errors(10, 0.25, 0),
  {
    ...base,
    id: 'latency-20pct-5pct',
    label: 'latency +20% at 5%',
    kind: 'regression',
    stages: fixed(0.05),
    onset: 0,
    regressed: { latencyShift: Math.log(1.2) },
    badEvent: 'over95',
    targetMedianMinutes: 5,
  },
  {
    ...base,
    id: 'latency-tail-5pct',
    label: 'tail only: 2% of requests ×4 at 5%',
    kind: 'regression',
    stages: fixed(0.05),
    onset: 0,
    regressed: { slowFraction: 0.02, slowShift: Math.log(4) },
    badEvent: 'over99',
  },
  {
    ...base,
    id: 'conversion-5pct-25pct',
    label: 'conversion −5% at 25%',
    kind: 'regression',
    stages: fixed(0.25),
    onset: 0,
    regressed: { conversionRate: service.conversionRate * 0.95 },
    badEvent: 'lost-conversions',
  },
  {
    ...base,
    id: 'srm-5pct',
    label: 'split broken: 10% of treatment lost',
    kind: 'srm',
    stages: fixed(0.05),
    onset: 0,
    treatmentOnly: { reported: 0.9 },
  },
];

export function shareAt(stages: readonly Stage[], minute: number): number {
  let share = stages[0]?.share ?? 0;
  for (const s of stages) if (minute >= s.at) share = s.share;
  return share;
}

export function behaviour(over: Partial<ArmBehaviour>[]): ArmBehaviour {
  return Object.assign({}, healthy, ...over);
}
