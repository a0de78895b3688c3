// `rollgate audit`: every check as a pure function of plans, states, recent signals and the event log, plus the
// thin reads that gather those inputs and the thread the power simulations run in.
import { Worker } from 'node:worker_threads';
import { type Interval, toIntervals } from '../health/intervals.ts';
import { minuteMs, type SegmentSeries } from '../health/series.ts';
import type { SignalStore } from '../health/signal-store.ts';
import { segmentFieldOf } from '../plans/signal-source.ts';
import type { StoredEvent } from '../rollout/event-store.ts';
import {
  type AuditFlag,
  type BlindSpotInput,
  blindSpotChecks,
  blindSpotDefaults,
  type UnplannedFlag,
} from './blind-spots.ts';
import type { AuditCheck, AuditStatus } from './check.ts';
import { type LedgerEntry, trustChecks, trustLedger } from './ledger.ts';
import {
  type Baseline,
  defaultBaseline,
  type PowerInput,
  type PowerOptions,
  powerChecks,
  storedSegments,
} from './power.ts';

/** Everything the checks read, gathered once per run: what the blind spots read, and more. */
export interface AuditInputs extends BlindSpotInput {
  /** The event log (retention keeps 90 days by default), any order. */
  events: readonly StoredEvent[];
  /** Requests per minute for plans with no stored traffic (`--traffic`). */
  traffic?: number | undefined;
  /** Each `by:` plan's stored segment signals over the recent window: the split its power is simulated with. */
  recentSegments?: ReadonlyMap<string, SegmentSeries>;
}

/**
 * A source of extra checks, combined with the built-in ones in every run: main.ts passes SDK reach
 * (src/audit/sdk-reach.ts, `sdkReachChecks`) here.
 */
export type CheckProvider = (inputs: AuditInputs) => AuditCheck[] | Promise<AuditCheck[]>;

export interface AuditReport {
  at: string;
  status: AuditStatus;
  counts: Record<AuditStatus, number>;
  checks: AuditCheck[];
  ledger: LedgerEntry[];
}

/** Fewer minutes with traffic than this in the recent window and the stored rate is too thin to simulate. */
export const minTrafficMinutes = 10;

/** Recent traffic per minute (both arms), over the minutes that carried any. Null when too few did. */
export function recentTraffic(intervals: readonly Interval[]): number | null {
  let total = 0;
  const minutes = new Set<number>();
  for (const i of intervals) {
    const requests = i.treatment.errors.count + i.control.errors.count;
    const n = requests > 0 ? requests : i.treatment.exposures.count + i.control.exposures.count;
    if (n <= 0) continue;
    total += n;
    for (let t = i.start; t < i.start + i.width; t += minuteMs) minutes.add(t);
  }
  return minutes.size >= minTrafficMinutes ? total / minutes.size : null;
}

/** Control's error and conversion rates and log-latency, where enough is stored; the defaults elsewhere. */
export function storedBaseline(intervals: readonly Interval[]): Baseline {
  const sum = (pick: (i: Interval) => { count: number; sum: number; sumsq: number | null }) =>
    intervals.reduce(
      (s, i) => {
        const a = pick(i);
        return { count: s.count + a.count, sum: s.sum + a.sum, sumsq: s.sumsq + (a.sumsq ?? 0) };
      },
      { count: 0, sum: 0, sumsq: 0 },
    );
  const errors = sum((i) => i.control.errors);
  const conversions = sum((i) => i.control.conversions);
  const logLatency = sum((i) => i.control['log-latency']);
  const b: Baseline = { ...defaultBaseline };
  const used: string[] = [];
  if (errors.count >= 1000 && errors.sum > 0) {
    b.errorRate = errors.sum / errors.count;
    used.push('errors');
  }
  if (conversions.count >= 1000 && conversions.sum > 0) {
    b.conversionRate = conversions.sum / conversions.count;
    used.push('conversions');
  }
  if (logLatency.count >= 100) {
    const mean = logLatency.sum / logLatency.count;
    const variance = (logLatency.sumsq - logLatency.sum * mean) / (logLatency.count - 1);
    if (variance > 0) {
      b.latencyMu = mean;
      b.latencySigma = Math.sqrt(variance);
      used.push('latency');
    }
  }
  b.source = used.length ? `stored control signals (${used.join(', ')})` : 'defaults';
  return b;
}

/** What the power audit simulates per plan: stored traffic when there is some, else `--traffic`. */
export function powerInputs(inputs: AuditInputs): PowerInput[] {
  return inputs.flags
    .filter((f) => f.plan.rollout)
    .map((f) => {
      const intervals = inputs.recent.get(f.plan.name) ?? [];
      const stored = recentTraffic(intervals);
      const traffic = stored ?? inputs.traffic ?? null;
      const segmentSignals = inputs.recentSegments?.get(f.plan.name);
      const wholeControl = intervals.reduce((n, i) => n + i.control.errors.count, 0);
      const segments = segmentSignals
        ? storedSegments(
            segmentSignals,
            wholeControl,
            `stored control traffic (last ${inputs.recentMs / minuteMs} min)`,
          )
        : null;
      return {
        plan: f.plan,
        traffic: traffic === null ? null : Math.round(traffic * 10) / 10,
        trafficSource:
          stored !== null ? `stored signals (last ${inputs.recentMs / minuteMs} min)` : '--traffic',
        baseline: storedBaseline(intervals),
        ...(segments ? { segments } : {}),
      };
    });
}

const statusOrder: Record<AuditStatus, number> = { pass: 0, warn: 1, fail: 2 };

/** The report from every check's result: the worst status decides, failures first. */
export function combine(now: number, checks: AuditCheck[], ledger: LedgerEntry[]): AuditReport {
  const counts: Record<AuditStatus, number> = { pass: 0, warn: 0, fail: 0 };
  for (const c of checks) counts[c.status]++;
  const status: AuditStatus = counts.fail ? 'fail' : counts.warn ? 'warn' : 'pass';
  const ordered = checks
    .map((c, i) => ({ c, i }))
    .sort((a, b) => statusOrder[b.c.status] - statusOrder[a.c.status] || a.i - b.i)
    .map(({ c }) => c);
  return { at: new Date(now).toISOString(), status, counts, checks: ordered, ledger };
}

/** The whole audit, pure: power checks are passed in (they are computed in a thread of their own). */
export function auditReport(inputs: AuditInputs, power: AuditCheck[], extra: AuditCheck[] = []): AuditReport {
  const ledger = trustLedger(inputs.events);
  const logSince = inputs.events.reduce((t, e) => Math.min(t, e.at), inputs.now);
  return combine(
    inputs.now,
    [...power, ...blindSpotChecks(inputs), ...trustChecks(ledger, logSince, inputs.now), ...extra],
    ledger,
  );
}

/** A failing gate's identity across runs: the check, its subject, and for power the stage and guardrail. */
export const gateKey = (c: AuditCheck) =>
  [c.check, c.subject ?? '', c.numbers.stage ?? '', c.numbers.guardrail ?? ''].join('|');

export interface AuditorDeps {
  flags: () => readonly AuditFlag[];
  signalStore: SignalStore;
  events: () => readonly StoredEvent[];
  unplanned: (since: number) => UnplannedFlag[];
  staleAfterMs: number;
  providers?: readonly CheckProvider[];
  power?: PowerOptions;
  /** Where the power simulations run; a worker thread unless told otherwise (tests may run them inline). */
  runPower?: (inputs: PowerInput[], options: PowerOptions) => Promise<AuditCheck[]>;
}

export type Auditor = ReturnType<typeof createAuditor>;

export function createAuditor(deps: AuditorDeps) {
  const runPower = deps.runPower ?? powerInWorker;
  /** The inputs as stored now: the thin I/O half of the audit. */
  function gather(now: number, traffic?: number): AuditInputs {
    const recentMs = Math.max(deps.staleAfterMs, 60 * minuteMs);
    const flags = deps.flags();
    const recent = new Map(
      flags.map((f) => [
        f.plan.name,
        toIntervals(deps.signalStore.series(f.plan.name, now - recentMs)).filter((i) => i.start <= now),
      ]),
    );
    const recentSegments = new Map(
      flags
        .filter((f) => segmentFieldOf(f.plan) !== undefined)
        .map((f) => [f.plan.name, deps.signalStore.segmentSeries(f.plan.name, now - recentMs)]),
    );
    return {
      now,
      flags,
      recent,
      recentSegments,
      recentMs,
      staleAfterMs: deps.staleAfterMs,
      unplanned: deps.unplanned(now - blindSpotDefaults.unplannedWithinMs),
      events: deps.events(),
      traffic,
    };
  }
  return {
    gather,
    /** The trust ledger alone, from the event log as stored now. */
    ledger: () => ({ ledger: trustLedger(deps.events()) }),
    async run(now: number, opts: { traffic?: number | undefined } = {}): Promise<AuditReport> {
      const inputs = gather(now, opts.traffic);
      const power = powerInputs(inputs);
      // Without traffic to simulate there is nothing slow: no thread is started for the warnings alone.
      const simulate = power.some((p) => p.traffic !== null) ? runPower : powerInline;
      const [powerResult, ...extra] = await Promise.all([
        simulate(power, deps.power ?? {}),
        ...(deps.providers ?? []).map((p) => p(inputs)),
      ]);
      return auditReport(inputs, powerResult ?? [], extra.flat());
    },
  };
}

/** The power checks computed inline (tests, and the worker's own body). */
export const powerInline = async (inputs: PowerInput[], options: PowerOptions) =>
  inputs.flatMap((input) => powerChecks(input, options));

/** The power checks computed in a worker thread started for this run. */
export function powerInWorker(inputs: PowerInput[], options: PowerOptions): Promise<AuditCheck[]> {
  // Workers do not inherit tsx's loader on Node 20: register it inside the worker before loading the entry.
  const entry = new URL('./power-worker.ts', import.meta.url).href;
  const boot = `import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(entry)}); })`;
  return new Promise((resolve, reject) => {
    const w = new Worker(boot, { eval: true, workerData: { inputs, options } });
    w.once('message', (m: { checks?: AuditCheck[]; error?: string }) => {
      void w.terminate();
      if (m.checks) resolve(m.checks);
      else reject(new Error(`power audit failed: ${m.error ?? 'no result'}`));
    });
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`power audit thread exited (${code})`)));
  });
}
