// Turns per-seed results into the benchmark's figures: rates with Wilson intervals, delay quantiles, power, false alarms per 14 days.
import { aaDays, type DriftSeedResult, driftDetectors } from './drift-sim.ts';
import type { Scenario } from './scenarios.ts';
import type { WatchResult } from './simulate.ts';
import { productRole, type Role, rolesFor } from './watchers.ts';

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

export interface RoleFigures {
  role: Role;
  name: string;
  /** Fired at any minute (A/A: a false rollback, or a transient hold for the split check). */
  fired: Rate;
  /** Fired before the regression began (late-onset scenarios): also a false rollback. */
  early: number;
  /** Fired at or after the onset within 24 h (for A/A: fired at all). */
  power: Rate;
  /** Minutes of regressed traffic served, counting the minute it fired. */
  minutes: number[];
  requests: number[];
  bad: number[];
  /** Which guardrail fired, for the plans. */
  reasons: Record<string, number>;
}

export interface ScenarioFigures {
  scenario: Scenario;
  product: Role;
  roles: RoleFigures[];
}

export function summarizeScenario(
  scenario: Scenario,
  names: string[],
  seeds: WatchResult[][],
): ScenarioFigures {
  // A/A rollouts count from the flag flip, so their firing minutes read as time to a false rollback.
  const onset = scenario.onset ?? 0;
  const roles = rolesFor(scenario).map((role, i) => {
    const fired = seeds.filter((s) => s[i]?.minute != null);
    const after = fired.filter((s) => (s[i]?.minute as number) >= onset);
    const reasons: Record<string, number> = {};
    for (const s of fired) {
      const reason = s[i]?.reason ?? '';
      reasons[reason] = (reasons[reason] ?? 0) + 1;
    }
    return {
      role,
      name: names[i] ?? role,
      fired: wilson(fired.length, seeds.length),
      early: fired.length - after.length,
      power: wilson(after.length, seeds.length),
      minutes: after.map((s) => (s[i]?.minute as number) - onset + 1),
      requests: after.map((s) => s[i]?.requestsSinceOnset as number),
      bad: after.map((s) => s[i]?.badSinceOnset as number),
      reasons,
    };
  });
  return { scenario, product: productRole(scenario), roles };
}

export interface DriftFigures {
  name: string;
  /** Mean false alarms per 14 days, and the share of 14-day runs with at least one. */
  alarmsPer14Days: number;
  anyAlarm: Rate;
  hours: number[];
  detected: Rate;
}

export function summarizeDrift(aa: DriftSeedResult[], drift: DriftSeedResult[]): DriftFigures[] {
  return driftDetectors.map((name, i) => {
    const alarms = aa.map((r) => r.alarms[i] as number);
    const hours = drift.map((r) => r.hours[i]).filter((h): h is number => h != null);
    return {
      name,
      alarmsPer14Days: (alarms.reduce((a, b) => a + b, 0) / Math.max(1, aa.length)) * (14 / aaDays),
      anyAlarm: wilson(alarms.filter((a) => a > 0).length, aa.length),
      hours,
      detected: wilson(hours.length, drift.length),
    };
  });
}
