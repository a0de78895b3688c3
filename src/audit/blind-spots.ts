// Blind spots: rollouts nothing watches, guardrails without signals, flags without control, flags SDKs use that no
// plan defines, and flags left at 100 % long after their rollout (flag debt). Pure: the inputs carry the time.
import { guardrailName } from '../health/assess-guardrail.ts';
import type { Interval } from '../health/intervals.ts';
import { formatDuration } from '../plans/duration.ts';
import type { Guardrail, Plan } from '../plans/schema.ts';
import { percentOf } from '../rollout/explain.ts';
import type { FlagState } from '../rollout/state.ts';
import type { AuditCheck } from './check.ts';

export interface AuditFlag {
  plan: Plan;
  state: FlagState;
  percent: number;
}

/** A flag SDKs reported evaluating although no plan defines it. */
export interface UnplannedFlag {
  flag: string;
  evaluations: number;
  firstSeen: number;
  lastSeen: number;
}

export const blindSpotDefaults = {
  /** Flags at 100 % longer than this are flag debt. */
  debtAfterMs: 30 * 86_400_000,
  /** SDK reports of unplanned flags older than this are forgotten. */
  unplannedWithinMs: 7 * 86_400_000,
};

export interface BlindSpotInput {
  now: number;
  flags: readonly AuditFlag[];
  /** Each flag's stored intervals over the recent window (at least the staleness window). */
  recent: ReadonlyMap<string, readonly Interval[]>;
  /** Length of that window. */
  recentMs: number;
  staleAfterMs: number;
  unplanned: readonly UnplannedFlag[];
}

/** Whether the rollout's guardrails act now: while it progresses, or after completion against a holdback. */
export const watchedNow = (f: AuditFlag) =>
  f.state.enabled &&
  (f.state.phase === 'progressing' || (f.state.phase === 'completed' && (f.plan.rollout?.holdback ?? 0) > 0));

/** Whether an interval holds the signal this guardrail's test reads. */
export function feeds(g: Guardrail, i: Interval): boolean {
  const arms = [i.treatment, i.control];
  switch (g.metric) {
    case 'errors':
      return arms.some((a) => a.errors.count > 0);
    case 'conversions':
      return arms.some((a) => a.conversions.count > 0);
    case 'revenue':
      return arms.some((a) => a.revenue.count > 0);
    case 'latency':
      return g.quantile === undefined && g.max === undefined
        ? arms.some((a) => a['log-latency'].count > 0)
        : arms.some((a) => a.histogram.size > 0);
    default:
      return false;
  }
}

const ago = (ms: number) => formatDuration(Math.max(0, Math.round(ms / 1000) * 1000));

export function blindSpotChecks(input: BlindSpotInput): AuditCheck[] {
  return [
    ...unwatched(input),
    ...staleGuardrails(input),
    ...noControl(input),
    ...unplannedFlags(input),
    ...flagDebt(input),
  ];
}

function passIfNone(checks: AuditCheck[], check: string, summary: string, numbers: AuditCheck['numbers']) {
  return checks.length ? checks : [{ check, status: 'pass' as const, summary, numbers, action: '' }];
}

function unwatched({ flags }: BlindSpotInput): AuditCheck[] {
  const rollouts = flags.filter((f) => f.plan.rollout);
  const found = rollouts
    .filter((f) => !f.plan.rollout?.guardrails.length && !f.plan.rollout?.alerts.length)
    .map(
      (f): AuditCheck => ({
        check: 'blind-spot.unwatched',
        status: 'fail',
        subject: f.plan.name,
        summary: `${f.plan.name} has a rollout with no guardrail and no alert rule: nothing can stop it, every stage promotes after its bake`,
        numbers: { guardrails: 0, alerts: 0, stages: f.plan.rollout?.stages.length ?? 0 },
        action: 'add guardrails (errors, latency) or an alert rule to the plan',
      }),
    );
  return passIfNone(
    found,
    'blind-spot.unwatched',
    `every rollout has a guardrail or an alert rule (${rollouts.length} rollouts)`,
    { rollouts: rollouts.length },
  );
}

function staleGuardrails({ flags, recent, now, staleAfterMs }: BlindSpotInput): AuditCheck[] {
  const watched = flags.filter(watchedNow);
  const found: AuditCheck[] = [];
  for (const f of watched) {
    const intervals = recent.get(f.plan.name) ?? [];
    for (const g of f.plan.rollout?.guardrails ?? []) {
      const last = intervals.reduce((t, i) => (feeds(g, i) ? Math.max(t, i.start + i.width) : t), -Infinity);
      if (now - last <= staleAfterMs) continue;
      const seen = Number.isFinite(last);
      found.push({
        check: 'blind-spot.stale-guardrail',
        status: 'fail',
        subject: f.plan.name,
        summary: `${f.plan.name} guardrail ${guardrailName(g)} has had no signal ${seen ? `for ${ago(now - last)}` : 'in the recent window'} (staleness window ${ago(staleAfterMs)}) while the rollout is ${f.state.phase}: it watches nothing`,
        numbers: {
          guardrail: guardrailName(g),
          lastSignalAgoMs: seen ? now - last : null,
          staleAfterMs,
          phase: f.state.phase,
        },
        action: `check that the service reports ${g.metric} for ${f.plan.name} (POST /api/signals, SDK impact metrics or Prometheus)`,
      });
    }
  }
  return passIfNone(
    found,
    'blind-spot.stale-guardrail',
    `every guardrail of the ${watched.length} watched rollouts had a signal within ${ago(staleAfterMs)}`,
    { watched: watched.length, staleAfterMs },
  );
}

function noControl({ flags, recent, recentMs }: BlindSpotInput): AuditCheck[] {
  const watched = flags.filter(watchedNow);
  const found: AuditCheck[] = [];
  for (const f of watched) {
    const intervals = recent.get(f.plan.name) ?? [];
    let treatment = 0;
    let control = 0;
    for (const i of intervals) {
      treatment += i.treatment.errors.count + i.treatment.exposures.count;
      control += i.control.errors.count + i.control.exposures.count;
    }
    if (treatment === 0 || control > 0) continue;
    found.push({
      check: 'blind-spot.no-control',
      status: 'fail',
      subject: f.plan.name,
      summary: `${f.plan.name} served ${treatment} treatment requests and exposures in the last ${ago(recentMs)} and none to control at ${percentOf(f.percent)}: its guardrails have nothing to compare with`,
      numbers: { treatment, control, percent: f.percent, windowMs: recentMs },
      action: 'report control traffic too (the arm "control" for users served the old path)',
    });
  }
  return passIfNone(
    found,
    'blind-spot.no-control',
    `every watched rollout (${watched.length}) had control traffic or no traffic at all`,
    { watched: watched.length },
  );
}

function unplannedFlags({ unplanned, flags, now }: BlindSpotInput): AuditCheck[] {
  const planned = new Set(flags.map((f) => f.plan.name));
  const found = unplanned
    .filter((u) => !planned.has(u.flag) && now - u.lastSeen <= blindSpotDefaults.unplannedWithinMs)
    .map(
      (u): AuditCheck => ({
        check: 'blind-spot.unplanned-flag',
        status: 'warn',
        subject: u.flag,
        summary: `SDKs evaluated ${u.flag} ${u.evaluations} times (last ${ago(now - u.lastSeen)} ago) but no plan defines it: Rollgate serves it as unknown (off) and nothing watches it`,
        numbers: { evaluations: u.evaluations, lastSeenAgoMs: now - u.lastSeen, firstSeen: u.firstSeen },
        action: `add a plan for ${u.flag} to the flags folder, or remove its evaluation from the code`,
      }),
    );
  return passIfNone(found, 'blind-spot.unplanned-flag', 'SDKs evaluated no flag that lacks a plan (7 days)', {
    unplanned: 0,
  });
}

/** When a flag reached full exposure: its rollout's completion, or the last change of a plain enabled flag. */
function atFullSince(f: AuditFlag): number | null {
  if (f.plan.type !== 'release' && f.plan.type !== 'experiment') return null;
  if (!f.state.enabled) return null;
  if (f.plan.rollout) return f.state.phase === 'completed' ? f.state.stageStartedAt : null;
  return f.plan.constraints.length === 0 && f.state.phase === 'static' ? f.state.updatedAt : null;
}

function flagDebt({ flags, now }: BlindSpotInput): AuditCheck[] {
  const found: AuditCheck[] = [];
  for (const f of flags) {
    const since = atFullSince(f);
    if (since === null || now - since <= blindSpotDefaults.debtAfterMs) continue;
    const days = Math.floor((now - since) / 86_400_000);
    found.push({
      check: 'blind-spot.flag-debt',
      status: 'warn',
      subject: f.plan.name,
      summary: `${f.plan.name} (${f.plan.type}) has served ${percentOf(f.percent)} for ${days} days: the old code path is dead weight that still has to work if anyone switches the flag off`,
      numbers: { days, percent: f.percent, since: new Date(since).toISOString() },
      action: `remove the flag ${f.plan.name} and the old code path, then delete its plan`,
    });
  }
  return passIfNone(
    found,
    'blind-spot.flag-debt',
    'no release or experiment flag has been at 100 % for over 30 days',
    {
      flags: flags.length,
    },
  );
}
