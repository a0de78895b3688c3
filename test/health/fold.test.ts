// Folding once gives the verdicts of folding from scratch: the same decisions at the same minutes, across a restart, a resume, a plan change and the minute-to-hour roll-up.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readSignalFile } from '../../src/cli/replay.ts';
import { migrate } from '../../src/db/migrate.ts';
import { openDb } from '../../src/db/open.ts';
import { closedBefore, createFlagHealth, createFoldingHealth } from '../../src/health/flag-health.ts';
import { createFoldStore } from '../../src/health/fold-store.ts';
import { createSignalIngest } from '../../src/health/ingest.ts';
import { segmentStreamKey } from '../../src/health/segments.ts';
import type { SignalRecord } from '../../src/health/signal-schema.ts';
import type { Verdict } from '../../src/health/verdict.ts';
import { silentLogger } from '../../src/log.ts';
import { parsePlanText } from '../../src/plans/load.ts';
import type { Plan } from '../../src/plans/schema.ts';
import { decideAction } from '../../src/rollout/actions.ts';
import { reconcile } from '../../src/rollout/reconcile.ts';
import { type FlagState, initialState, servedPercent } from '../../src/rollout/state.ts';
import { tempDir } from '../helpers/rollgate.ts';

const migrationsDir = fileURLToPath(new URL('../../src/db/migrations', import.meta.url));
const minute = 60_000;
const settleMs = 2 * minute;

/** One SQLite file with its store and ingest, opened as a new process would. */
function open(file: string, clock: () => number) {
  const db = openDb(file);
  migrate(db, migrationsDir);
  const signals = createSignalIngest({ db, clock, log: silentLogger });
  return { db, signals, folds: createFoldStore(db) };
}

type Event = 'restart' | 'resume' | 'plan-change' | 'roll-up' | 'late';

/**
 * Runs a rollout tick by tick twice on the same records: one database folds incrementally and lives through
 * the events (restarts reopen the file, a roll-up turns its old minutes into hours), the other re-folds from
 * scratch every tick and is never rolled up. Every verdict must be equal, so every decision is.
 */
function runTwins(opts: {
  plan: Plan;
  records: SignalRecord[];
  start: number;
  end: number;
  historyMs: number;
  events?: Record<number, Event>;
}) {
  const dir = tempDir('rollgate-fold-');
  let now = opts.start;
  const clock = () => now;
  let folding = open(path.join(dir, 'incremental.db'), clock);
  const scratch = open(path.join(dir, 'scratch.db'), clock);
  // Segment points each tick reads from the incremental side's store: what folding them costs.
  const segmentReads: number[] = [];
  const health = () => {
    const store = folding.signals.store;
    return createFoldingHealth({
      store: {
        ...store,
        segmentSeries(flag: string, since: number) {
          const read = store.segmentSeries(flag, since);
          segmentReads[segmentReads.length - 1] =
            (segmentReads.at(-1) ?? 0) + read.points.length + read.histograms.length;
          return read;
        },
      },
      rows: folding.folds.load(),
      historyMs: opts.historyMs,
    });
  };
  let incremental = health();
  const fromScratch = createFlagHealth({ store: scratch.signals.store, historyMs: opts.historyMs });

  let plan = opts.plan;
  const started = (p: Plan) =>
    decideAction({ plan: p, state: initialState(p, now), file: 'f.yaml', percent: 0 }, 'start', {}, now).next;
  const states: Record<'a' | 'b', FlagState> = { a: started(plan), b: started(plan) };
  const decisions: Record<'a' | 'b', string[]> = { a: [], b: [] };
  const records = [...opts.records].sort((x, y) => (x.at ?? 0) - (y.at ?? 0));
  let next = 0;
  const feed = () => {
    const batch: SignalRecord[] = [];
    while (next < records.length && (records[next]?.at ?? 0) < now)
      batch.push(records[next++] as SignalRecord);
    if (batch.length) {
      folding.signals.ingest(batch);
      scratch.signals.ingest(batch);
    }
  };
  let late = 0;
  let ticks = 0;
  let refoldsSaved = 0;
  const verdicts: Verdict[] = [];
  // Ticks land mid-minute, so the open minute is partly filled when it is assessed.
  for (let tick = 0; opts.start + tick * minute + 17_000 <= opts.end; tick++) {
    now = opts.start + tick * minute + 17_000;
    const event = opts.events?.[tick];
    if (event === 'restart') {
      folding.db.close();
      folding = open(path.join(dir, 'incremental.db'), clock);
      incremental = health();
    }
    if (event === 'resume')
      for (const k of ['a', 'b'] as const) states[k] = { ...states[k], watchSince: now };
    if (event === 'plan-change' && plan.rollout) {
      plan = { ...plan, rollout: { ...plan.rollout, alpha: (plan.rollout.alpha ?? 0.01) / 2 } };
    }
    if (event === 'roll-up')
      folding.signals.store.prune(now, { rawRetentionMs: 20 * minute, retentionMs: 90 * 86_400_000 });
    feed();
    if (event === 'late') {
      // A signal for a minute both sides folded already: counted, never folded in.
      const old = { flag: plan.name, arm: 'treatment', at: now - 10 * minute, requests: 500, errors: 400 };
      folding.signals.ingest([old]);
      scratch.signals.ingest([old]);
      late++;
    }
    if (!['progressing', 'completed'].includes(states.a.phase)) break;
    const until = closedBefore(now, settleMs);
    segmentReads.push(0);
    folding.signals.store.freeze(plan.name, until);
    scratch.signals.store.freeze(plan.name, until);
    const a = incremental.assess(
      { plan, state: states.a, percent: servedPercent(plan, states.a) },
      now,
      until,
    );
    folding.folds.save(a.rows, now);
    if (a.rows.length) refoldsSaved++;
    const b = fromScratch.check(
      { plan, state: states.b, percent: servedPercent(plan, states.b) },
      now,
    ).verdict;
    expect(a.verdict, `tick ${tick}`).toEqual(b);
    verdicts.push(a.verdict);
    ticks++;
    for (const [k, verdict] of [
      ['a', a.verdict],
      ['b', b],
    ] as const) {
      const result = reconcile(plan, states[k], verdict, now);
      if (!result.changed) continue;
      decisions[k].push(`${new Date(now).toISOString()} ${result.decision.action}`);
      states[k] = { ...result.next, updatedAt: now };
    }
  }
  const stored = folding.folds.load();
  folding.db.close();
  scratch.db.close();
  fs.rmSync(dir, { recursive: true, force: true });
  expect(decisions.a).toEqual(decisions.b);
  return {
    decisions: decisions.a,
    ticks,
    late,
    verdicts,
    refoldsSaved,
    phase: states.a.phase,
    stored,
    segmentReads,
  };
}

const fixtures = path.resolve(import.meta.dirname, '../fixtures/replay');
function fixture() {
  const loaded = parsePlanText(fs.readFileSync(path.join(fixtures, 'plan.yaml'), 'utf8'), 'plan.yaml');
  if (!loaded.ok) throw new Error('fixture plan');
  const { records } = readSignalFile(path.join(fixtures, 'signals.ndjson'));
  const times = records.map((r) => r.at ?? 0);
  return { plan: loaded.plan, records, start: Math.min(...times), end: Math.max(...times) + 2 * minute };
}

/** Deterministic random numbers (mulberry32). */
function random(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const randomPlan = parsePlanText(
  `name: fold.random
description: d
owner: o
type: release
rollout:
  stages: [{ percent: 20, bake: 20m }, { percent: 21, bake: 20m }, { percent: 100 }]
  holdback: 5
  guardrails:
    - { metric: errors, worse: higher }
    - { metric: errors, worse: higher, max: 0.05 }
    - { metric: latency, worse: higher, quantile: 0.95 }
    - { metric: latency, worse: higher }
    - { metric: latency, worse: higher, quantile: 0.95, max: 400 }
    - { metric: conversions, worse: lower }
`,
  'random.yaml',
);

/** Minute signals for both arms (a fifth treatment): an hour of history, then a rollout whose treatment may turn bad at some minute. */
function randomSeries(seed: number, minutes: number, start: number) {
  const r = random(seed);
  const onset = r() < 0.5 ? Math.floor(minutes * (0.5 + 0.5 * r())) : Number.POSITIVE_INFINITY;
  const factor = 1 + r() * 4;
  const records: SignalRecord[] = [];
  const bounds = [50, 100, 200, 400, 800];
  for (let m = -60; m < minutes; m++) {
    for (const arm of ['control', 'treatment'] as const) {
      if (arm === 'treatment' && m < 0) continue;
      const bad = arm === 'treatment' && m >= onset;
      const requests = Math.floor((arm === 'control' ? 400 : 100) * (0.5 + r()));
      const errors = Math.floor(requests * 0.01 * (bad ? factor : 1) * 2 * r());
      const mean = (bad ? 150 : 120) * (0.95 + 0.1 * r());
      const shares = bounds.map((b) => 1 - Math.exp(-b / mean));
      const buckets = [
        ...bounds.map((le, i) => ({ le, count: Math.floor(requests * Math.max(...shares.slice(0, i + 1))) })),
        { le: '+Inf' as const, count: requests },
      ];
      const sum = requests * mean;
      records.push({
        flag: 'fold.random',
        arm,
        at: start + m * minute + Math.floor(r() * 50_000),
        requests,
        errors,
        latencyMs: { count: requests, sum, sumSquares: sum * mean * 2, buckets },
        units: requests,
        conversions: Math.floor(requests * 0.1 * (bad ? 0.7 : 1) * 2 * r()),
      });
    }
  }
  return records;
}

describe('folding once', () => {
  it('decides the replay fixture at the same minutes as folding from scratch, across every event', () => {
    const f = fixture();
    const plain = runTwins({ ...f, historyMs: 0 });
    expect(plain.decisions.length).toBeGreaterThanOrEqual(3);
    const eventful = runTwins({
      ...f,
      historyMs: 0,
      events: {
        5: 'restart',
        9: 'plan-change',
        12: 'late',
        16: 'resume',
        30: 'roll-up',
        31: 'restart',
        40: 'roll-up',
      },
    });
    expect(eventful.decisions.length).toBeGreaterThanOrEqual(3);
    // Counted from the late signal on, until the resume moves the window past its minute.
    const late = eventful.verdicts.find((v) => v.late === 1) as Verdict;
    expect(late).toBeDefined();
    // The decision taken on it says so in words.
    const state = decideAction(
      { plan: f.plan, state: initialState(f.plan, f.start), file: 'f.yaml', percent: 0 },
      'start',
      {},
      f.start,
    ).next;
    const decided = reconcile(f.plan, state, late, late.at);
    expect(decided.changed).toBe(true);
    expect(decided.decision.reason).toMatch(
      /; 1 signal value arrived for minutes already assessed: stored apart, not counted$/,
    );
    expect(reconcile(f.plan, state, { ...late, late: 0 }, late.at).decision.reason).not.toMatch(
      /already assessed/,
    );
  });

  it('gives the verdicts of folding from scratch on seeded random series, across every event', () => {
    if (!randomPlan.ok) throw new Error('plan');
    const start = Date.parse('2026-11-03T08:00:00Z');
    const actions = new Set<string>();
    let ticks = 0;
    const events: Record<number, Event> = {
      20: 'restart',
      45: 'late',
      70: 'resume',
      100: 'plan-change',
      130: 'roll-up',
      131: 'restart',
      170: 'roll-up',
      171: 'restart',
    };
    // Seed 5 reads no history: its tail threshold comes from control after the start, and its conversions
    // baseline from control so far, which only folding from scratch can follow.
    for (let seed = 1; seed <= 5; seed++) {
      const run = runTwins({
        plan: randomPlan.plan,
        records: randomSeries(seed, 240, start),
        start,
        end: start + 240 * minute,
        historyMs: seed === 5 ? 0 : 2 * 3_600_000,
        // Folding from scratch sees roll-ups, so seed 5 has none.
        events: seed === 5 ? { 20: 'restart', 45: 'late', 70: 'resume', 100: 'plan-change' } : events,
      });
      // Folds were stored as minutes closed, not re-folded each tick.
      if (seed < 5) expect(run.refoldsSaved).toBeLessThan(run.ticks);
      else expect(run.refoldsSaved).toBe(0);
      for (const d of run.decisions) actions.add(d.split(' ')[1] as string);
      ticks += run.ticks;
    }
    // No history and no conversions: the tail threshold is sought in control after the start, inside the fold.
    const plan = randomPlan.plan;
    const rollout = plan.rollout as NonNullable<Plan['rollout']>;
    const seeking = runTwins({
      plan: {
        ...plan,
        rollout: { ...rollout, guardrails: rollout.guardrails.filter((g) => g.metric !== 'conversions') },
      },
      records: randomSeries(6, 240, start),
      start,
      end: start + 240 * minute,
      historyMs: 0,
      events,
    });
    expect(seeking.refoldsSaved).toBeGreaterThan(0);
    expect(seeking.refoldsSaved).toBeLessThan(seeking.ticks);
    expect(ticks).toBeGreaterThan(300);
    expect([...actions].sort()).toEqual(expect.arrayContaining(['complete', 'promote', 'rollback']));
  });

  it('carries per-segment streams (by:) in the fold: each tick folds only their new minutes', () => {
    const segmentPlan = parsePlanText(
      `name: fold.regions
description: d
owner: o
type: release
rollout:
  stages: [{ percent: 20, bake: 30m }, { percent: 50, bake: 30m }, { percent: 100 }]
  holdback: 5
  guardrails:
    - { metric: errors, worse: higher, by: region, maxSegments: 3 }
    - { metric: latency, worse: higher, quantile: 0.95, by: region, maxSegments: 3 }
`,
      'regions.yaml',
    );
    if (!segmentPlan.ok) throw new Error('plan');
    const start = Date.parse('2026-11-04T08:00:00Z');
    const minutes = 200;
    /** eu and us from the first minute, ap (a test of its own) from minute 40, sa and za (pooled) from 70 and 90. */
    const regionSeries = (seed: number, bad: string | null) => {
      const r = random(seed);
      const firstMinute: Record<string, number> = { eu: -60, us: -60, ap: 40, sa: 70, za: 90 };
      const bounds = [50, 100, 200, 400, 800];
      const records: SignalRecord[] = [];
      for (let m = -60; m < minutes; m++) {
        for (const [region, first] of Object.entries(firstMinute)) {
          if (m < first) continue;
          for (const arm of ['control', 'treatment'] as const) {
            if (arm === 'treatment' && m < 0) continue;
            const worse = arm === 'treatment' && region === bad && m >= 100;
            const requests = Math.floor((arm === 'control' ? 200 : 50) * (0.5 + r()));
            const errors = Math.floor(requests * 0.01 * (worse ? 6 : 1) * 2 * r());
            const mean = 120 * (0.95 + 0.1 * r());
            const shares = bounds.map((b) => 1 - Math.exp(-b / mean));
            const buckets = [
              ...bounds.map((le, i) => ({
                le,
                count: Math.round(requests * Math.max(...shares.slice(0, i + 1))),
              })),
              { le: '+Inf' as const, count: requests },
            ];
            records.push({
              flag: 'fold.regions',
              arm,
              segment: region,
              at: start + m * minute + Math.floor(r() * 50_000),
              requests,
              errors,
              latencyMs: { count: requests, sum: requests * mean, buckets },
            });
          }
        }
      }
      return records;
    };
    const events: Record<number, Event> = {
      30: 'restart',
      55: 'late',
      75: 'restart',
      110: 'roll-up',
      111: 'restart',
    };
    for (const [seed, bad] of [
      [11, 'us'],
      [12, null],
    ] as const) {
      const run = runTwins({
        plan: segmentPlan.plan,
        records: regionSeries(seed, bad),
        start,
        end: start + minutes * minute,
        historyMs: 3_600_000,
        events,
      });
      // The stored fold holds every tested segment's stream, so a restart goes on from them.
      const streams = run.stored.map((r) => r.stream);
      for (const index of [0, 1])
        for (const value of ['eu', 'us', 'ap', '(other)'])
          expect(streams).toContain(segmentStreamKey(String(index), 'region', value));
      expect(run.refoldsSaved).toBeGreaterThan(run.ticks / 2);
      expect(run.decisions.some((d) => d.endsWith('promote'))).toBe(true);
      // A tick reads the segment minutes since the fold (settle lag and open minute: under 400 points), not the
      // whole history. The whole series is read only until the rollout start has closed (ticks 0-2) and once for
      // each tested segment seen for the first time (ap at 40, the pooled "(other)" with sa at 70; za joins it):
      // never after a restart or a roll-up.
      const heavy = run.segmentReads.flatMap((n, t) => (n > 500 ? [t] : []));
      // (A value's first record lands anywhere in its minute, so the tick that sees it may be the next.)
      expect(heavy).toEqual([0, 1, 2, expect.toBeOneOf([40, 41]), expect.toBeOneOf([70, 71])]);
      expect(Math.max(...run.segmentReads.filter((_, t) => !heavy.includes(t)))).toBeLessThan(400);
      const segmentVerdicts = run.verdicts.flatMap((v) => v.guardrails.filter((g) => g.segment));
      expect(new Set(segmentVerdicts.map((g) => g.segment?.value))).toEqual(
        new Set(['eu', 'us', 'ap', '(other)']),
      );
      if (bad) {
        expect(run.phase).toBe('rolled-back');
        expect(
          run.verdicts.some((v) =>
            v.guardrails.some((g) => g.segment?.value === 'us' && g.status === 'regressed'),
          ),
        ).toBe(true);
      } else {
        expect(run.decisions.some((d) => d.endsWith('rollback'))).toBe(false);
      }
    }
  });
});
