// `rollgate replay`: recorded signals through the same ingest, assess and reconcile as the server, on a virtual clock.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isoOrNull, manualClock } from '../clock.ts';
import { migrate } from '../db/migrate.ts';
import { openDb } from '../db/open.ts';
import { closedBefore, createFoldingHealth } from '../health/flag-health.ts';
import { createSignalIngest } from '../health/ingest.ts';
import { minuteMs } from '../health/series.ts';
import { parseSignalBatch, type SignalRecord } from '../health/signal-schema.ts';
import type { Verdict } from '../health/verdict.ts';
import { silentLogger } from '../log.ts';
import { parsePlanText } from '../plans/load.ts';
import type { Plan } from '../plans/schema.ts';
import { formatProblem } from '../plans/validate.ts';
import { decideAction, stageLabel } from '../rollout/actions.ts';
import { type ReconcileResult, reconcile } from '../rollout/reconcile.ts';
import { type FlagState, initialState, servedPercent } from '../rollout/state.ts';

const migrationsDir = fileURLToPath(new URL('../db/migrations', import.meta.url));

export interface ReplayOptions {
  planFile: string;
  signalsFile: string;
  /** When the virtual rollout starts (ms); default the first record's minute. Earlier records are history. */
  startAt?: number;
  /** Virtual time between two reconcile passes; default one minute. */
  tickMs?: number;
  /**
   * Recorded traffic keeps the split it had when recorded, whatever percent the replayed rollout reaches, so
   * the split check is off unless asked for (for recordings made under this same plan).
   */
  checkSplit?: boolean;
  out?: (line: string) => void;
}

export interface ReplaySummary {
  from: string;
  to: string;
  records: number;
  ticks: number;
  decisions: number;
  phase: string;
  stage: string;
  percent: number;
}

export type ReplayResult = { ok: true; summary: ReplaySummary } | { ok: false; problems: string[] };

/** Reads NDJSON records (the POST /api/signals format, one per line, `at` required); every bad line is reported. */
export function readSignalFile(file: string): { records: SignalRecord[]; problems: string[] } {
  const records: SignalRecord[] = [];
  const problems: string[] = [];
  fs.readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.trim() === '') return;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (err) {
        problems.push(`${file}:${i + 1}: not JSON: ${(err as Error).message}`);
        return;
      }
      const parsed = parseSignalBatch([value], Number.POSITIVE_INFINITY);
      if (!parsed.ok)
        problems.push(`${file}:${i + 1}: ${parsed.path ? `${parsed.path}: ` : ''}${parsed.reason}`);
      else if (parsed.records[0]?.at === undefined)
        problems.push(`${file}:${i + 1}: at: replay needs a time on every record`);
      else records.push(...parsed.records);
    });
  return { records, problems };
}

export function runReplay(opts: ReplayOptions): ReplayResult {
  const out = opts.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const loaded = parsePlanText(fs.readFileSync(opts.planFile, 'utf8'), path.basename(opts.planFile));
  if (!loaded.ok) return { ok: false, problems: loaded.problems.map(formatProblem) };
  const plan = loaded.plan;
  if (!plan.rollout) return { ok: false, problems: [`${opts.planFile}: the plan has no rollout to replay`] };
  const { records, problems } = readSignalFile(opts.signalsFile);
  if (problems.length) return { ok: false, problems };
  if (!records.length) return { ok: false, problems: [`${opts.signalsFile}: no records`] };

  const timeOf = (r: SignalRecord) => r.at ?? 0;
  records.sort((a, b) => timeOf(a) - timeOf(b));
  const first = Math.floor(timeOf(records[0] as SignalRecord) / minuteMs) * minuteMs;
  const last = timeOf(records.at(-1) as SignalRecord);
  const tickMs = opts.tickMs ?? minuteMs;
  const start = opts.startAt ?? first;

  const session = openVirtualRollout({ plan, file: opts.planFile, start, checkSplit: opts.checkSplit });
  try {
    let next = 0;
    let ticks = 0;
    let decisions = 0;
    const feedUntil = (t: number) => {
      const batch: SignalRecord[] = [];
      while (next < records.length && timeOf(records[next] as SignalRecord) < t)
        batch.push(records[next++] as SignalRecord);
      if (batch.length) session.ingest(batch);
    };
    feedUntil(start);
    for (let now = start + tickMs; now <= last + tickMs; now += tickMs) {
      if (!session.active()) break;
      session.clock.set(now);
      feedUntil(now);
      ticks++;
      const step = session.tick(now);
      if (!step) continue;
      decisions++;
      out(JSON.stringify(decisionLine(plan, step.before, step.after, step.decision, now)));
    }
    const state = session.state();
    const summary: ReplaySummary = {
      from: isoOrNull(start),
      to: isoOrNull(session.clock()),
      records: records.length,
      ticks,
      decisions,
      phase: state.phase,
      stage: stageLabel(plan, state.stage),
      percent: servedPercent(plan, state),
    };
    out(JSON.stringify({ summary }));
    return { ok: true, summary };
  } finally {
    session.close();
  }
}

export interface VirtualRolloutOptions {
  plan: Plan;
  /** Named in the start decision, as the plan file a person would have started. */
  file: string;
  /** When the rollout starts (ms); the virtual clock begins here. */
  start: number;
  checkSplit?: boolean | undefined;
  /** A SQLite file for the signals; default an in-memory database. */
  dbFile?: string;
  /** Minutes are folded for good this long after they end, as ROLLGATE_SIGNAL_SETTLE (default 2 min). */
  settleMs?: number;
}

const defaultSettleMs = 2 * minuteMs;

export interface VirtualStep {
  before: FlagState;
  after: FlagState;
  decision: ReconcileResult['decision'];
}

/**
 * One started rollout on a virtual clock, with the server's parts: records go through `ingest` into a migrated
 * SQLite store, each tick folds the newly closed minutes into each test as the server's assessment thread does
 * and applies `reconcile`. Replay and the
 * detection benchmark both drive this, so what they measure is what the server decides.
 */
export function openVirtualRollout(opts: VirtualRolloutOptions) {
  const { plan, start } = opts;
  const clock = manualClock(start);
  const db = openDb(opts.dbFile ?? ':memory:');
  migrate(db, migrationsDir);
  const ingest = createSignalIngest({ db, clock, log: silentLogger });
  // The server's path: each flag's fold carried from tick to tick, closed minutes folded once (assess-worker.ts).
  const health = createFoldingHealth({ store: ingest.store, rows: [] });
  const settleMs = opts.settleMs ?? defaultSettleMs;
  let state: FlagState = initialState(plan, start);
  state = decideAction({ plan, state, file: opts.file, percent: 0 }, 'start', {}, start).next;
  return {
    clock,
    ingest: (records: readonly SignalRecord[]) => {
      ingest.ingest(records);
    },
    state: () => state,
    /** Percent of users served the change now. */
    percent: () => servedPercent(plan, state),
    /** Still progressing, or completed and watching a holdback: ticking can change something. */
    active: () => state.phase === 'progressing' || state.phase === 'completed',
    /** One reconcile pass at `now`; the decision when it changed the state, else null. */
    tick(now: number): VirtualStep | null {
      const percent = servedPercent(plan, state);
      const assessed = health.assess({ plan, state, percent }, now, closedBefore(now, settleMs));
      const verdict = withSplitPolicy(assessed.verdict, opts.checkSplit);
      const result = reconcile(plan, state, verdict, now);
      if (!result.changed) return null;
      const before = state;
      state = { ...result.next, updatedAt: now };
      return { before, after: state, decision: result.decision };
    },
    close: () => db.close(),
  };
}

export type VirtualRollout = ReturnType<typeof openVirtualRollout>;

function withSplitPolicy(verdict: Verdict, checkSplit: boolean | undefined): Verdict {
  if (checkSplit) return verdict;
  return {
    ...verdict,
    srm: {
      status: 'insufficient-data',
      summary: 'split: not checked in replay (--check-split to check)',
      evidence: {},
    },
  };
}

function decisionLine(
  plan: Plan,
  before: FlagState,
  after: FlagState,
  decision: { action: string; reason: string; evidence: Record<string, unknown> },
  now: number,
) {
  const guardrail = typeof decision.evidence.guardrail === 'string' ? decision.evidence.guardrail : null;
  return {
    at: isoOrNull(now),
    action: decision.action,
    stage: stageLabel(plan, before.stage),
    /** Where the rollout is after the decision: its phase, and its stage while it still has one. */
    phase: after.phase,
    toStage: after.phase === 'rolled-back' ? null : stageLabel(plan, after.stage),
    percent: servedPercent(plan, after),
    guardrail,
    reason: decision.reason,
    evidence: decision.evidence,
  };
}

/** The CLI entry: prints decisions and the summary on stdout, problems on stderr; 1 when the inputs are bad. */
export function replayCommand(opts: Omit<ReplayOptions, 'out'>): number {
  const result = runReplay(opts);
  if (result.ok) return 0;
  process.stderr.write(`${result.problems.join('\n')}\n`);
  return 1;
}
