// One seeded rollout of one scenario, minute by minute, watched by every gate on the same traffic.

import { createRng } from './prng.ts';
import type { Tick, Watcher } from './product-gate.ts';
import { behaviour, type Scenario, shareAt } from './scenarios.ts';
import { type ArmBehaviour, type ArmTick, service, simulateArm } from './traffic.ts';

const dayMinutes = 24 * 60;
export const horizonMinutes = dayMinutes;
const diurnalAmplitude = 0.2;
const incidentMinutes = 30;

export interface WatchResult {
  /** Minute (since the flag flip) the watcher fired, or null if it stayed quiet to the horizon. */
  minute: number | null;
  reason: string | null;
  /** Treatment requests and bad events from the regression onset through the firing minute. */
  requestsSinceOnset: number;
  badSinceOnset: number;
}

function badEvents(s: Scenario, t: ArmTick): number {
  switch (s.badEvent) {
    case 'errors':
      return t.errors;
    case 'over95':
      return t.over95;
    case 'over99':
      return t.over99;
    case 'lost-conversions':
      return t.requests * (service.conversionRate - (s.regressed.conversionRate ?? service.conversionRate));
  }
}

function armBehaviours(s: Scenario) {
  const incident = (b: ArmBehaviour): ArmBehaviour => ({
    ...b,
    errorRate: b.errorRate * 10,
    latencyShift: b.latencyShift + Math.log(1.5),
  });
  const control = behaviour([s.both ?? {}]);
  const treatment = behaviour([s.both ?? {}, s.treatmentOnly ?? {}]);
  const regressed = behaviour([s.both ?? {}, s.treatmentOnly ?? {}, s.regressed]);
  return {
    control: [control, incident(control)],
    treatment: [treatment, incident(treatment)],
    regressed: [regressed, incident(regressed)],
  } as const;
}

/** Seeds are streams (scenario index, seed): every gate sees the same minutes, every scenario its own. */
export function runSeed(
  scenario: Scenario,
  scenarioIndex: number,
  seed: number,
  watchers: readonly Watcher[],
  horizon = horizonMinutes,
): WatchResult[] {
  const rng = createRng(scenarioIndex, seed);
  const phase = rng.uniform() * dayMinutes;
  const incidentStart = scenario.incident ? rng.integer(60, horizon - 60 - incidentMinutes) : -1;
  const arms = armBehaviours(scenario);
  const results: WatchResult[] = watchers.map(() => ({
    minute: null,
    reason: null,
    requestsSinceOnset: 0,
    badSinceOnset: 0,
  }));
  let open = watchers.length;
  let requestsSinceOnset = 0;
  let badSinceOnset = 0;
  for (let minute = 0; minute < horizon && open > 0; minute++) {
    const share = shareAt(scenario.stages, minute);
    const traffic =
      scenario.requestsPerMinute *
      (1 + diurnalAmplitude * Math.sin((2 * Math.PI * (minute + phase)) / dayMinutes));
    const inIncident =
      incidentStart >= 0 && minute >= incidentStart && minute < incidentStart + incidentMinutes ? 1 : 0;
    const regressed = scenario.onset !== null && minute >= scenario.onset;
    const treatment = simulateArm(
      rng,
      traffic * share,
      (regressed ? arms.regressed : arms.treatment)[inIncident],
    );
    const control = simulateArm(rng, traffic * (1 - share), arms.control[inIncident]);
    if (regressed) {
      requestsSinceOnset += treatment.requests;
      badSinceOnset += badEvents(scenario, treatment);
    }
    const tick: Tick = { minute, share, treatment, control };
    for (let i = 0; i < watchers.length; i++) {
      const r = results[i] as WatchResult;
      if (r.minute !== null) continue;
      const reason = (watchers[i] as Watcher).observe(tick);
      if (reason === null) continue;
      results[i] = { minute, reason, requestsSinceOnset, badSinceOnset };
      open--;
    }
  }
  return results;
}
