// Rollback drills: toggle a flag no code reads, time how long each SDK instance takes to hold the change, restore
// it, and check that every completed flag's holdback (the rollback target) still gets traffic and is healthy.

import { instanceLabel, sdkReachDefaults } from '../audit/sdk-reach.ts';
import { isoOrNull } from '../clock.ts';
import { AppError } from '../errors.ts';
import type { UnleashFeature } from '../evaluation/types.ts';
import { assess, seriesStart } from '../health/assess.ts';
import { rolloutStartOf } from '../health/flag-health.ts';
import { toIntervals, trafficOf } from '../health/intervals.ts';
import type { SignalStore } from '../health/signal-store.ts';
import type { Logger } from '../log.ts';
import { DRILL_FLAG } from '../plans/schema.ts';
import type { Controller, Flag } from '../rollout/controller.ts';
import type { ServedFeatures } from '../rollout/served.ts';
import { isProven, type SdkInstance, type SdkRegistry } from './instances.ts';

export const drillDefaults = {
  /** The timeout is this many times the longest refresh interval seen, plus `slackMs`… */
  timeoutFactor: 1.5,
  slackMs: 2_000,
  minTimeoutMs: 5_000,
  /** …and never longer than this. */
  maxTimeoutMs: 10 * 60_000,
  /** Holdback traffic is looked for this far back. */
  holdbackWindowMs: 3_600_000,
  /** At most this many instances are written into the drill's event (the API shows all). */
  eventInstances: 200,
};

export interface DrillInstance {
  instance: string;
  appName: string;
  instanceId: string;
  connection: string | null;
  refreshIntervalMs: number | null;
  /** When it held the drill's revision, and how long after the toggle; null when it never did. */
  tookAt: string | null;
  tookMs: number | null;
}

export interface HoldbackCheck {
  flag: string;
  holdbackPercent: number;
  status: 'pass' | 'fail';
  summary: string;
  numbers: Record<string, number | string | null>;
}

export interface DrillRun {
  id: number;
  status: 'running' | 'passed' | 'failed' | 'no-instances';
  actor: string;
  reason: string | null;
  startedAt: string;
  deadline: string;
  finishedAt: string | null;
  timeoutMs: number;
  /** The served revision that carried the toggle, and the one that restored it. */
  revision: number;
  restoredRevision: number | null;
  instances: DrillInstance[];
  /** Instances seen recently that never held the drill's revision before the timeout. */
  missed: string[];
  holdbacks: HoldbackCheck[];
  summary: string;
}

export const drillFeature = (startedAt: number): UnleashFeature => ({
  name: DRILL_FLAG,
  type: 'operational',
  description: `Rollback drill started ${new Date(startedAt).toISOString()}; no code evaluates it.`,
  project: 'default',
  enabled: true,
  stale: false,
  impressionData: false,
  strategies: [{ name: 'default', parameters: {}, constraints: [], segments: [], variants: [] }],
  variants: [],
});

/** A bit more than the longest refresh interval among the instances (streams need none), within bounds. */
export function drillTimeout(instances: readonly SdkInstance[]): number {
  const longest = Math.max(
    0,
    ...instances
      .filter((i) => !i.streamOpen)
      .map((i) => i.refreshIntervalMs ?? sdkReachDefaults.refreshIntervalMs),
  );
  const ms = Math.ceil(longest * drillDefaults.timeoutFactor + drillDefaults.slackMs);
  return Math.min(drillDefaults.maxTimeoutMs, Math.max(drillDefaults.minTimeoutMs, ms));
}

export type Drills = ReturnType<typeof createDrills>;

export function createDrills(deps: {
  controller: Controller;
  sdks: SdkRegistry;
  signalStore: SignalStore;
  log: Logger;
  /** Wall time: SDKs poll on real timers. */
  now?: () => number;
  recentMs?: number;
}) {
  const { controller, sdks, log } = deps;
  const now = deps.now ?? Date.now;
  const recentMs = deps.recentMs ?? sdkReachDefaults.recentMs;
  let served: ServedFeatures | undefined;
  let active: { startedAt: number } | undefined;
  let last: DrillRun | undefined;
  let running: Promise<DrillRun> | undefined;
  let schedule: NodeJS.Timeout | undefined;
  /** Ends the running drill's wait early (shutdown): it restores the flag and records what it saw so far. */
  let cancel = () => {};

  const holdbackChecks = (at: number): HoldbackCheck[] =>
    controller
      .listFlags()
      .filter((f) => f.state.phase === 'completed' && (f.plan.rollout?.holdback ?? 0) > 0)
      .map((f) => holdbackCheck(f, at));

  /** Traffic on control recently, and the guardrails run with the arms swapped: is control worse than treatment? */
  const holdbackCheck = (flag: Flag, at: number): HoldbackCheck => {
    const name = flag.plan.name;
    const holdbackPercent = flag.plan.rollout?.holdback ?? 0;
    const recent = trafficOf(toIntervals(deps.signalStore.series(name, at - drillDefaults.holdbackWindowMs)));
    const minutes = drillDefaults.holdbackWindowMs / 60_000;
    const numbers = {
      controlRecent: recent.control,
      treatmentRecent: recent.treatment,
      unit: recent.unit,
      windowMinutes: minutes,
    };
    if (recent.control === 0) {
      return {
        flag: name,
        holdbackPercent,
        status: 'fail',
        summary: `${name}'s ${holdbackPercent} % holdback had no ${recent.unit} in the last ${minutes} min (treatment ${recent.treatment}): the rollback target is not being exercised, so nobody knows it still works.`,
        numbers,
      };
    }
    // Since completion, control judged as if it were the change: a regression here means the old path is worse.
    const ctx = {
      now: at,
      stageStartedAt: flag.state.stageStartedAt,
      rolloutStartedAt: flag.state.stageStartedAt ?? rolloutStartOf(flag.state),
      percent: holdbackPercent,
      phase: 'progressing',
    };
    const series = deps.signalStore.series(name, seriesStart(ctx));
    const swapped = {
      ...series,
      points: series.points.map((p) => ({ ...p, arm: p.arm === 'control' ? 'treatment' : 'control' })),
      histograms: series.histograms.map((h) => ({
        ...h,
        arm: h.arm === 'control' ? 'treatment' : 'control',
      })),
    };
    const reversed = assess(flag.plan, swapped, ctx);
    const worse = reversed.guardrails.find((g) => g.status === 'regressed');
    if (worse) {
      return {
        flag: name,
        holdbackPercent,
        status: 'fail',
        summary: `${name}'s holdback is worse than the rolled-out path (its guardrails run with the arms swapped, so "treatment" is the holdback): ${worse.summary}. Rolling back would move everyone onto it.`,
        numbers: { ...numbers, guardrail: worse.name },
      };
    }
    return {
      flag: name,
      holdbackPercent,
      status: 'pass',
      summary: `${name}'s ${holdbackPercent} % holdback is alive: ${recent.control} ${recent.unit} in the last ${minutes} min, and no guardrail finds it worse than the rolled-out path.`,
      numbers,
    };
  };

  const run = async (actor: string, reason: string | null, timeoutOverride?: number): Promise<DrillRun> => {
    const startedAt = now();
    // Only instances seen on two requests or more: an id invented for one request cannot make a drill fail.
    const targets = sdks.list().filter((i) => i.lastSeen >= startedAt - recentMs && isProven(i));
    const timeoutMs = timeoutOverride ?? drillTimeout(targets);
    const took = new Map<SdkInstance, number>();
    const id = controller.events.append({
      at: startedAt,
      flag: DRILL_FLAG,
      type: 'drill.started',
      actor,
      reason,
      data: { instances: targets.length, timeoutMs },
    });
    let revision = Number.POSITIVE_INFINITY;
    let allTook = () => {};
    const everyone = new Promise<void>((resolve) => {
      allTook = resolve;
    });
    const wanted = new Set(targets);
    const unsubscribe = sdks.onRevision((instance) => {
      if (!wanted.has(instance) || took.has(instance) || (instance.revision ?? -1) < revision) return;
      took.set(instance, instance.heldSince ?? now());
      if (took.size === wanted.size) allTook();
    });
    active = { startedAt };
    served?.refresh();
    revision = served?.current().revision ?? 0;
    last = {
      id,
      status: 'running',
      actor,
      reason,
      startedAt: new Date(startedAt).toISOString(),
      deadline: new Date(startedAt + timeoutMs).toISOString(),
      finishedAt: null,
      timeoutMs,
      revision,
      restoredRevision: null,
      instances: [],
      missed: [],
      holdbacks: [],
      summary: `drill running: waiting up to ${timeoutMs / 1000} s for ${targets.length} SDK instance(s) to hold revision ${revision}`,
    };
    let timer: NodeJS.Timeout | undefined;
    try {
      if (targets.length) {
        await Promise.race([
          everyone,
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, timeoutMs);
            cancel = resolve;
          }),
        ]);
      }
    } finally {
      clearTimeout(timer);
      cancel = () => {};
      unsubscribe();
      active = undefined;
      served?.refresh();
    }
    const finishedAt = now();
    const instances = targets.map((i): DrillInstance => {
      const at = took.get(i);
      return {
        instance: instanceLabel(i),
        appName: i.appName,
        instanceId: i.instanceId,
        connection: i.connection,
        refreshIntervalMs: i.refreshIntervalMs,
        tookAt: isoOrNull(at ?? null),
        tookMs: at === undefined ? null : Math.max(0, at - startedAt),
      };
    });
    const missed = instances.filter((i) => i.tookMs === null).map((i) => i.instance);
    const holdbacks = holdbackChecks(finishedAt);
    const slowest = Math.max(0, ...instances.map((i) => i.tookMs ?? 0));
    const deadHoldbacks = holdbacks.filter((h) => h.status === 'fail').map((h) => h.flag);
    const holdbackLine = holdbacks.length
      ? ` Holdbacks: ${holdbacks.length - deadHoldbacks.length} of ${holdbacks.length} alive${deadHoldbacks.length ? ` (not: ${deadHoldbacks.join(', ')})` : ''}.`
      : '';
    const status: DrillRun['status'] = !targets.length ? 'no-instances' : missed.length ? 'failed' : 'passed';
    const summary =
      status === 'no-instances'
        ? `No SDK instance was seen in the last ${recentMs / 60_000} min: the drill reached nobody and vouches for nothing.${holdbackLine}`
        : status === 'failed'
          ? `${missed.length} of ${targets.length} SDK instance(s) did not hold the drill's change within ${(timeoutMs / 1000).toFixed(1)} s and would not see a rollback: ${missed.slice(0, 10).join(', ')}${missed.length > 10 ? ', …' : ''}.${holdbackLine}`
          : `All ${targets.length} SDK instance(s) held the drill's change, the slowest after ${(slowest / 1000).toFixed(1)} s.${holdbackLine}`;
    const result: DrillRun = {
      ...last,
      status,
      finishedAt: new Date(finishedAt).toISOString(),
      restoredRevision: served?.current().revision ?? null,
      instances,
      missed,
      holdbacks,
      summary,
    };
    last = result;
    controller.events.append({
      at: finishedAt,
      flag: DRILL_FLAG,
      type: `drill.${status}`,
      actor,
      reason: summary,
      data: {
        startedEventId: id,
        revision,
        restoredRevision: result.restoredRevision,
        timeoutMs,
        missed: missed.slice(0, drillDefaults.eventInstances),
        instances: instances.slice(0, drillDefaults.eventInstances),
        instanceCount: instances.length,
        holdbacks,
      },
    });
    (status === 'passed' ? log.info : log.warn)('rollback drill finished', { status, summary });
    return result;
  };

  /** Starts a drill; a second one while one runs is a 409. Resolves with the finished run. */
  const start = (
    actor: string,
    opts: { reason?: string | undefined; timeoutMs?: number | undefined } = {},
  ) => {
    if (running) {
      throw new AppError(
        'CONFLICT',
        `a drill is already running (started ${last?.startedAt}, ends by ${last?.deadline}); wait for it`,
        { drill: last },
      );
    }
    const done = run(actor, opts.reason ?? null, opts.timeoutMs).finally(() => {
      running = undefined;
    });
    running = done;
    return { run: last as DrillRun, done };
  };

  return {
    /** What the served document carries for the drill: its flag while a drill runs, nothing otherwise. */
    features: (): UnleashFeature[] => (active ? [drillFeature(active.startedAt)] : []),
    /** The served document the drill toggles through (set once, after both are built). */
    attach(s: ServedFeatures) {
      served = s;
    },
    start,
    /** The running drill, else the last one since start (undefined before the first). */
    current: () => last,
    /** ROLLGATE_DRILL_INTERVAL: a drill every `intervalMs`, skipped while one runs or where `leads` says no. */
    schedule(intervalMs: number, leads: () => boolean = () => true) {
      schedule = setInterval(() => {
        if (running || !leads()) return;
        start('drill-scheduler', { reason: 'scheduled rollback drill' }).done.catch((err) =>
          log.error('scheduled drill failed', { err }),
        );
      }, intervalMs);
      schedule.unref();
    },
    async stop() {
      if (schedule) clearInterval(schedule);
      cancel();
      await running?.catch(() => undefined);
    },
  };
}
