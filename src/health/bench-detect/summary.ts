// Turns per-seed outcomes into the benchmark's figures: rates with Wilson intervals, delay quantiles, power.
import type { Scenario } from './scenarios.ts';
import type { Outcome, SeedResult } from './simulate.ts';

export interface Rate {
  k: number;
  n: number;
  rate: number;
  lower: number;
  upper: number;
}

/** Wilson score interval, 95 % by default: honest near 0, where the normal interval is not. */
export function wilson(k: number, n: number, z = 1.959964): Rate {
  if (n === 0) return { k, n, rate: 0, lower: 0, upper: 1 };
  const p = k / n;
  const d = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / d;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
  return { k, n, rate: p, lower: Math.max(0, centre - half), upper: Math.min(1, centre + half) };
}

/** Nearest-rank quantile; null for no values. */
export function quantile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

export interface WatcherFigures {
  name: string;
  /** Rolled back at any minute (A/A: a false rollback). */
  fired: Rate;
  /** Rolled back before the regression began (late onsets): also a false rollback. */
  early: number;
  /** Rolled back at or after the onset, within the horizon. */
  power: Rate;
  /** Promoted (gates) or completed (product) without rolling back. */
  promoted: Rate;
  /** Minutes from the onset through the deciding minute, over the rollbacks after the onset. */
  minutes: number[];
  requests: number[];
  bad: number[];
  reasons: Record<string, number>;
  /** Product: seeds that entered each hold. */
  holds: Record<string, number>;
}

export interface ScenarioFigures {
  scenario: Scenario;
  product: WatcherFigures[];
  gates: WatcherFigures[];
}

function figures(name: string, scenario: Scenario, outcomes: readonly Outcome[]): WatcherFigures {
  const onset = scenario.onset ?? 0;
  const fired = outcomes.filter((o) => o.rolledBackAt !== null);
  const after = fired.filter((o) => (o.rolledBackAt as number) > onset);
  const reasons: Record<string, number> = {};
  const holds: Record<string, number> = {};
  for (const o of fired) reasons[o.reason ?? ''] = (reasons[o.reason ?? ''] ?? 0) + 1;
  for (const o of outcomes) for (const h of o.holds) holds[h] = (holds[h] ?? 0) + 1;
  return {
    name,
    fired: wilson(fired.length, outcomes.length),
    early: fired.length - after.length,
    power: wilson(after.length, outcomes.length),
    promoted: wilson(
      outcomes.filter((o) => o.rolledBackAt === null && o.promotedAt !== null).length,
      outcomes.length,
    ),
    minutes: after.map((o) => (o.rolledBackAt as number) - onset),
    requests: after.map((o) => o.requestsSinceOnset),
    bad: after.map((o) => o.badSinceOnset),
    reasons,
    holds,
  };
}

export function summarizeScenario(
  scenario: Scenario,
  gateNames: readonly string[],
  seeds: readonly SeedResult[],
): ScenarioFigures {
  return {
    scenario,
    product: scenario.plans.map((role, i) =>
      figures(
        role,
        scenario,
        seeds.map((s) => s.product[i] as Outcome),
      ),
    ),
    gates: scenario.baselines
      ? gateNames.map((name, i) =>
          figures(
            name,
            scenario,
            seeds.filter((s) => s.gates.length > 0).map((s) => s.gates[i] as Outcome),
          ),
        )
      : [],
  };
}
