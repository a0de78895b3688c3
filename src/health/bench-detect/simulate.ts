// One seeded rollout of one scenario, minute by minute: the service's reporter posts each arm's minute, the product ingests, assesses and reconciles it on a virtual clock as `rollgate replay` does, and the Flagger and Kayenta gates read the same minutes.
import { openVirtualRollout, type VirtualRollout } from '../../cli/replay.ts';
import { createRng } from '../../prng.ts';
import { minuteMs } from '../series.ts';
import {
  createFlaggerGate,
  createKayentaJudge,
  flaggerSettings,
  type Gate,
  kayentaSettings,
} from './baselines.ts';
import { flagOf, planFor } from './plans.ts';
import {
  type ArmMinute,
  type ReportOptions,
  reporterBoundsMs,
  simulateArmMinute,
  toRecord,
} from './reporter.ts';
import { behaviour, dayMinutes, type PlanRole, type Scenario } from './scenarios.ts';
import { type ArmBehaviour, service } from './traffic.ts';

const diurnalAmplitude = 0.2;
const incidentMinutes = 30;
/** Control-only minutes stored before the flip: the product fixes tail thresholds and τ from them. */
export const historyMinutes = 60;
/** Regressions are ticked every minute this long after the onset, then hourly (delays past it are hours anyway). */
export const denseMinutes = 180;
const flipAt = Date.parse('2026-01-05T00:00:00Z');
/** "Slow" requests for the latency rows: above 362 ms, a reporter bound just above control's p99. */
export const slowAboveMs = 362;

export interface Outcome {
  /** Minute since the flip at whose end the rollback was decided (counting that minute), null if none. */
  rolledBackAt: number | null;
  /** Gates: the minute they promoted. Product: the minute it completed (100 %). */
  promotedAt: number | null;
  reason: string | null;
  /** Treatment requests and bad events served from the onset through the deciding minute. */
  requestsSinceOnset: number;
  badSinceOnset: number;
  /** Product: the holds it entered ("sample-ratio-mismatch", "insufficient-data:…"), each once. */
  holds: string[];
}

export interface SeedResult {
  product: Outcome[];
  gates: Outcome[];
}

export const gateNames = [...flaggerSettings.map((s) => s.name), ...kayentaSettings.map((s) => s.name)];

function gatesFor(s: Scenario): Gate[] {
  if (!s.baselines) return [];
  return [...flaggerSettings.map(createFlaggerGate), ...kayentaSettings.map(createKayentaJudge)];
}

const reportOptions: Record<PlanRole, ReportOptions> = {
  release: { countIncidents: true },
  'release-raw': {},
  experiment: { outcomes: true, latency: false },
  'errors-only': { countIncidents: true, latency: false },
};

/** Ticks of the quiet stretches (healthy holds, a week, a fortnight), in minutes. */
export const sparseTickMinutes = 360;
/** Ticks while a ramp waits on bakes and exposure (every bake in the plans is a multiple). */
const rampTickMinutes = 5;

/**
 * When the product ticks, after minute m. Every minute while the answer is minutes (up to `denseMinutes` after a
 * regression's onset); every 5 minutes while a ramp moves; hourly for drift (its answer is hours); else every 6 h
 * and at the horizon. Alarms are sticky and each test folds from a fixed start, so a sparse tick finds exactly the
 * rollbacks a tick every minute would, only dated later.
 */
function ticks(s: Scenario, m: number, stage: number, horizon: number): boolean {
  const at = m + 1;
  if (m === horizon - 1) return true;
  if (s.stages.length > 1 && stage < s.stages.length - 1) return at % rampTickMinutes === 0;
  if (s.kind === 'drift') return at % 60 === 0;
  // Reaching 100 % after the stage's hour, then watching the holdback.
  if (s.holdback !== undefined && stage < s.stages.length) return at % 60 === 0;
  if (s.kind === 'regression' || s.kind === 'srm')
    return at <= (s.onset ?? 0) + denseMinutes || at % 60 === 0;
  return at % sparseTickMinutes === 0;
}

function badEvents(s: Scenario, t: ArmMinute): number {
  switch (s.badEvent) {
    case 'errors':
      return t.errors;
    case 'slow': {
      const from = reporterBoundsMs.indexOf(slowAboveMs) + 1;
      return t.bins.slice(from).reduce((a, b) => a + b, 0);
    }
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
  return { control, treatment, regressed, incident };
}

const emptyOutcome = (): Outcome => ({
  rolledBackAt: null,
  promotedAt: null,
  reason: null,
  requestsSinceOnset: 0,
  badSinceOnset: 0,
  holds: [],
});

/** The guardrail that rolled back, with the form of its test that crossed ("errors (relative) [change-point]"). */
function rollbackCause(evidence: Record<string, unknown>): string {
  const g = typeof evidence.guardrail === 'string' ? evidence.guardrail : 'rollback';
  const alarm = evidence.alarm as { form?: unknown } | null | undefined;
  return typeof alarm?.form === 'string' ? `${g} [${alarm.form}]` : g;
}

/** Seeds are streams (scenario index, seed): every plan and gate sees the same minutes, every scenario its own. */
export function runSeed(
  scenario: Scenario,
  scenarioIndex: number,
  seed: number,
  withGates = true,
  maxHorizonMinutes = Number.POSITIVE_INFINITY,
): SeedResult {
  const rng = createRng(scenarioIndex, seed);
  const phase = rng.uniform() * dayMinutes;
  const horizon = Math.min(scenario.horizonMinutes, maxHorizonMinutes);
  const incidentStart = scenario.incident ? rng.integer(60, horizon - 60 - incidentMinutes) : -1;
  const arms = armBehaviours(scenario);
  const roles = scenario.plans;
  const rollouts: VirtualRollout[] = roles.map((role) =>
    openVirtualRollout({
      plan: planFor(scenario, role),
      file: `${flagOf(role)}.yaml`,
      start: flipAt,
      checkSplit: true,
    }),
  );
  const product = roles.map(emptyOutcome);
  const gates = withGates ? gatesFor(scenario) : [];
  const gateOutcomes = gates.map(emptyOutcome);
  const trafficAt = (m: number) =>
    scenario.requestsPerMinute * (1 + diurnalAmplitude * Math.sin((2 * Math.PI * (m + phase)) / dayMinutes));
  const post = (m: number, t: ArmMinute | null, c: ArmMinute) => {
    const at = flipAt + m * minuteMs;
    roles.forEach((role, i) => {
      const records = [toRecord(flagOf(role), 'control', at, c, reportOptions[role])];
      if (t) records.push(toRecord(flagOf(role), 'treatment', at, t, reportOptions[role]));
      (rollouts[i] as VirtualRollout).ingest(records);
    });
  };
  try {
    for (let m = -historyMinutes; m < 0; m++)
      post(m, null, simulateArmMinute(rng, trafficAt(m), arms.control));
    let onsetRequests = 0;
    let onsetBad = 0;
    const firstPercent = scenario.stages[0]?.percent ?? 0;
    for (let m = 0; m < horizon; m++) {
      const primary = rollouts[0] as VirtualRollout;
      const percent = primary.active() ? primary.percent() : firstPercent;
      const share = percent / 100;
      const inIncident = incidentStart >= 0 && m >= incidentStart && m < incidentStart + incidentMinutes;
      const regressed = scenario.onset !== null && m >= scenario.onset;
      let t = regressed ? arms.regressed : arms.treatment;
      if (regressed && scenario.risePerHour)
        t = {
          ...t,
          errorRate: t.errorRate * (1 + (scenario.risePerHour * (m - (scenario.onset ?? 0))) / 60),
        };
      let c = arms.control;
      if (inIncident) {
        t = arms.incident(t);
        c = arms.incident(c);
      }
      const treatment = simulateArmMinute(rng, trafficAt(m) * share, t);
      const control = simulateArmMinute(rng, trafficAt(m) * (1 - share), c);
      if (regressed) {
        onsetRequests += treatment.requests;
        onsetBad += badEvents(scenario, treatment);
      }
      const decided = (o: Outcome, reason: string, rolledBack: boolean) => {
        if (rolledBack) o.rolledBackAt = m + 1;
        else o.promotedAt = m + 1;
        o.reason = reason;
        o.requestsSinceOnset = onsetRequests;
        o.badSinceOnset = onsetBad;
      };
      post(m, treatment, control);
      if (ticks(scenario, m, primary.state().stage, horizon)) {
        const now = flipAt + (m + 1) * minuteMs;
        rollouts.forEach((r, i) => {
          if (!r.active()) return;
          r.clock.set(now);
          const step = r.tick(now);
          const o = product[i] as Outcome;
          if (!step) return;
          if (step.decision.action === 'rollback') {
            decided(o, rollbackCause(step.decision.evidence), true);
          } else if (step.decision.action === 'complete') o.promotedAt = m + 1;
          else if (
            step.decision.action === 'hold' &&
            step.after.holdKey &&
            !o.holds.includes(step.after.holdKey)
          )
            o.holds.push(step.after.holdKey);
        });
      }
      gates.forEach((g, i) => {
        const o = gateOutcomes[i] as Outcome;
        if (o.rolledBackAt !== null || o.promotedAt !== null) return;
        const d = g.observe({ minute: m, treatment, control });
        if (d) decided(o, d.reason, d.action === 'rollback');
      });
      const productOpen = rollouts.some((r) => r.active());
      const gatesOpen = gateOutcomes.some((o) => o.rolledBackAt === null && o.promotedAt === null);
      if (!productOpen && !gatesOpen) break;
    }
  } finally {
    for (const r of rollouts) r.close();
  }
  return { product, gates: gateOutcomes };
}
