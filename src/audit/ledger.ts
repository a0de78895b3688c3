// Trust inflation: a ledger of human overrides and escapes read from the event log, their rate per 30 days, and a
// one-sided Poisson CUSUM on the weekly counts that warns when overriding becomes a habit. Pure: events and time in.
import type { StoredEvent } from '../rollout/event-store.ts';
import type { AuditCheck } from './check.ts';

export const overrideKinds = [
  'resume-past-verdict',
  'promote-past-verdict',
  'forced-start',
  'kill-switch',
  'promote-to-full',
] as const;
export type LedgerKind = (typeof overrideKinds)[number] | 'escape';

export interface LedgerEntry {
  eventId: number;
  at: string;
  flag: string | null;
  kind: LedgerKind;
  actor: string;
  reason: string | null;
  /** What the person overrode (the verdict's words), or for an escape what rolled it back. */
  overrode: string | null;
}

const dayMs = 86_400_000;
const weekMs = 7 * dayMs;

/** The controller and alert rollbacks act by themselves; plan loading is bookkeeping. Everyone else is a person. */
export const isAutomatic = (actor: string) =>
  actor === 'controller' || actor.startsWith('alert:') || actor.startsWith('plans-');

/** The ledger, oldest first, from events in any order. */
export function trustLedger(events: readonly StoredEvent[]): LedgerEntry[] {
  const sorted = [...events].sort((a, b) => a.id - b.id);
  /** Per flag: the last automatic stop (pause, step-back, hold) not yet acted on by a person. */
  const stopped = new Map<string, StoredEvent>();
  const entries: LedgerEntry[] = [];
  const add = (e: StoredEvent, kind: LedgerKind, overrode: string | null) =>
    entries.push({
      eventId: e.id,
      at: new Date(e.at).toISOString(),
      flag: e.flag,
      kind,
      actor: e.actor,
      reason: e.reason,
      overrode,
    });
  for (const e of sorted) {
    const flag = e.flag ?? '';
    const stop = stopped.get(flag);
    const automatic = isAutomatic(e.actor);
    switch (e.type) {
      case 'rollout.paused':
      case 'rollout.stepped-back':
      case 'rollout.held':
        if (automatic) stopped.set(flag, e);
        else stopped.delete(flag);
        continue;
      case 'rollout.started':
        stopped.delete(flag);
        if (!automatic && Array.isArray(e.data.forcedOver) && e.data.forcedOver.length)
          add(e, 'forced-start', `${e.data.forcedOver.length} firing alert(s)`);
        continue;
      case 'rollout.resumed':
        stopped.delete(flag);
        if (!automatic && stop && stop.type !== 'rollout.held') add(e, 'resume-past-verdict', stop.reason);
        continue;
      case 'rollout.promoted':
      case 'rollout.completed':
        stopped.delete(flag);
        if (automatic) continue;
        if (stop) add(e, 'promote-past-verdict', stop.reason);
        else if (e.type === 'rollout.completed') add(e, 'promote-to-full', null);
        continue;
      case 'flag.disabled':
        if (!automatic) add(e, 'kill-switch', null);
        continue;
      case 'rollout.rolled-back':
        stopped.delete(flag);
        if (e.data.phaseBefore === 'completed')
          add(e, 'escape', e.actor === 'controller' ? 'drift against the holdback' : e.actor);
        continue;
      default:
    }
  }
  return entries;
}

export const trendDefaults = {
  /** Fewer full weeks than this and no trend is judged. */
  minWeeks: 4,
  /** CUSUM threshold: by Lorden's bound the false-alarm run length is at least e^h weeks (about a year). */
  threshold: Math.log(52),
  /** The rate rise the CUSUM is tuned to detect. */
  ratio: 2,
};

export interface Trend {
  weeks: number[];
  /** Events per week in the reference weeks (the older half), half an event when there were none. */
  baselinePerWeek: number;
  cusum: number;
  threshold: number;
  /** Index into `weeks` of the first week the CUSUM crossed, or null. */
  alarmWeek: number | null;
}

/**
 * Weekly counts of `times` ending at `now` (oldest first, whole weeks since `since`), and a one-sided Poisson
 * CUSUM over the newer half against the older half's rate: S = max(0, S + x·ln ρ − λ₀(ρ − 1)).
 */
export function weeklyTrend(times: readonly number[], since: number, now: number): Trend | null {
  const n = Math.floor((now - since) / weekMs);
  if (n < trendDefaults.minWeeks) return null;
  const weeks = new Array<number>(n).fill(0);
  for (const t of times) {
    const back = Math.floor((now - t) / weekMs);
    if (back >= 0 && back < n) weeks[n - 1 - back] = (weeks[n - 1 - back] ?? 0) + 1;
  }
  const reference = Math.floor(n / 2);
  const refCount = weeks.slice(0, reference).reduce((s, x) => s + x, 0);
  const baselinePerWeek = Math.max(refCount, 0.5) / reference;
  const { ratio, threshold } = trendDefaults;
  let cusum = 0;
  let alarmWeek: number | null = null;
  for (let w = reference; w < n; w++) {
    cusum = Math.max(0, cusum + (weeks[w] ?? 0) * Math.log(ratio) - baselinePerWeek * (ratio - 1));
    if (alarmWeek === null && cusum >= threshold) alarmWeek = w;
  }
  return { weeks, baselinePerWeek, cusum, threshold, alarmWeek };
}

const round = (x: number) => Math.round(x * 1000) / 1000;

export function trustChecks(ledger: readonly LedgerEntry[], logSince: number, now: number): AuditCheck[] {
  const overrides = ledger.filter((e) => e.kind !== 'escape');
  const escapes = ledger.filter((e) => e.kind === 'escape');
  const times = overrides.map((e) => Date.parse(e.at));
  const last30 = times.filter((t) => now - t < 30 * dayMs).length;
  const previous30 = times.filter((t) => now - t >= 30 * dayMs && now - t < 60 * dayMs).length;
  const byKind = Object.fromEntries(
    overrideKinds.map((k) => [
      k,
      overrides.filter((e) => e.kind === k && now - Date.parse(e.at) < 30 * dayMs).length,
    ]),
  );
  const trend = weeklyTrend(times, logSince, now);
  const numbers: AuditCheck['numbers'] = {
    overridesLast30d: last30,
    overridesPrevious30d: previous30,
    ...byKind,
    weeks: trend?.weeks.length ?? Math.max(0, Math.floor((now - logSince) / weekMs)),
    baselinePerWeek: trend ? round(trend.baselinePerWeek) : null,
    cusum: trend ? round(trend.cusum) : null,
    threshold: round(trendDefaults.threshold),
    weeklyCounts: trend ? trend.weeks.join(',') : null,
  };
  const rising = trend?.alarmWeek !== null && trend?.alarmWeek !== undefined;
  const overrideCheck: AuditCheck = {
    check: 'trust.overrides',
    status: rising ? 'warn' : 'pass',
    summary: !trend
      ? `${last30} human override(s) in the last 30 days (${previous30} the 30 before); ${numbers.weeks} full week(s) of log, too few to judge a trend (needs ${trendDefaults.minWeeks})`
      : rising
        ? `human overrides are rising: ${last30} in the last 30 days (${previous30} the 30 before); weekly ${trend.weeks.join(', ')} against ${round(trend.baselinePerWeek)}/week before, CUSUM ${round(trend.cusum)} ≥ ${round(trend.threshold)}`
        : `${last30} human override(s) in the last 30 days (${previous30} the 30 before); no rising trend (CUSUM ${round(trend.cusum)} < ${round(trend.threshold)} over ${trend.weeks.length} weeks)`,
    numbers,
    action: rising
      ? 'review the ledger (GET /api/admin/audit/ledger): if people keep overriding verdicts, fix the guardrails or the plans rather than the habit'
      : '',
  };
  const recentEscapes = escapes.filter((e) => now - Date.parse(e.at) < 30 * dayMs);
  const escapeCheck: AuditCheck = {
    check: 'trust.escapes',
    status: recentEscapes.length ? 'warn' : 'pass',
    summary: recentEscapes.length
      ? `${recentEscapes.length} rollout(s) completed and were rolled back later in the last 30 days (${recentEscapes.map((e) => e.flag).join(', ')}): regressions escaped every stage`
      : `no completed rollout was rolled back in the last 30 days (${escapes.length} in the log)`,
    numbers: { escapesLast30d: recentEscapes.length, escapesInLog: escapes.length },
    action: recentEscapes.length
      ? 'run the power audit on those plans: their stages promoted before the regression showed'
      : '',
  };
  return [overrideCheck, escapeCheck];
}
