// Per-segment tests over a real SQLite store: A/A across segments on seeded traffic, and values past the cap pooled into "(other)".
import { describe, expect, it } from 'vitest';
import { createFlagHealth } from '../../src/health/flag-health.ts';
import { createSignalIngest } from '../../src/health/ingest.ts';
import { maxStoredSegments, minuteMs } from '../../src/health/series.ts';
import type { IntervalRecord } from '../../src/health/signal-schema.ts';
import { silentLogger } from '../../src/log.ts';
import { type Plan, planSchema } from '../../src/plans/schema.ts';
import { reconcile } from '../../src/rollout/reconcile.ts';
import type { FlagState } from '../../src/rollout/state.ts';
import { openSignalDb } from '../helpers/signal-db.ts';
import { binomial, seededRandom } from '../helpers/traffic.ts';

const t0 = Date.parse('2026-11-02T00:00:00Z');

const planWith = (guardrail: Record<string, unknown>, bake = '24h'): Plan =>
  planSchema.parse({
    name: 'f',
    description: 'd',
    owner: 'o',
    type: 'release',
    rollout: { stages: [{ percent: 10, bake }, { percent: 100 }], guardrails: [guardrail] },
  });

const progressing: FlagState = {
  flag: 'f',
  enabled: true,
  phase: 'progressing',
  stage: 0,
  stageStartedAt: t0,
  startedAt: t0,
  watchSince: null,
  phaseReason: null,
  holdKey: null,
  version: 1,
  updatedAt: t0,
};

function setup(plan: Plan) {
  const db = openSignalDb();
  const ingest = createSignalIngest({ db, clock: () => t0, log: silentLogger });
  const health = createFlagHealth({ store: ingest.store });
  const flag = {
    plan,
    state: { phase: 'progressing', stageStartedAt: t0, startedAt: t0, watchSince: null },
    percent: 10,
  };
  return { ingest, assess: (now: number) => health.assess(flag, now) };
}

/** One minute per region and arm at `percent` % treatment; `rateOf` gives each region's treatment error rate. */
function minuteOf(
  at: number,
  regions: Record<string, number>,
  random: () => number,
  rateOf: (region: string) => number = () => 0.01,
): IntervalRecord[] {
  return Object.entries(regions).flatMap(([segment, perMinute]) => {
    const treatment = Math.round(perMinute * 0.1);
    const control = perMinute - treatment;
    return [
      {
        flag: 'f',
        arm: 'treatment',
        at,
        segment,
        requests: treatment,
        errors: binomial(treatment, rateOf(segment), random),
      },
      { flag: 'f', arm: 'control', at, segment, requests: control, errors: binomial(control, 0.01, random) },
    ];
  });
}

describe('per-segment tests', () => {
  it('A/A: eight regions of very different sizes over six hours roll back none of 20 seeded rollouts', () => {
    const regions = { us: 3000, eu: 1500, ap: 800, sa: 400, af: 200, me: 100, oc: 50, an: 20 };
    const plan = planWith({ metric: 'errors', worse: 'higher', by: 'region', maxSegments: 4 });
    const minutes = 360;
    let tested = 0;
    let healthySegments = 0;
    const regressed: string[] = [];
    for (let seed = 1; seed <= 20; seed++) {
      const { ingest, assess } = setup(plan);
      const random = seededRandom(seed);
      const records: IntervalRecord[] = [];
      for (let m = 0; m < minutes; m++) records.push(...minuteOf(t0 + m * minuteMs, regions, random));
      ingest.ingest(records);
      // Alarms are sticky within a fold from the rollout start: one look at the end sees any crossing.
      const verdict = assess(t0 + minutes * minuteMs);
      const segments = verdict.guardrails.filter((g) => g.segment);
      tested += segments.length;
      healthySegments += segments.filter((g) => g.status === 'healthy').length;
      for (const g of verdict.guardrails)
        if (g.status === 'regressed') regressed.push(`seed ${seed}: ${g.name}`);
    }
    expect(regressed).toEqual([]);
    // Every seed ran the four own segments and the pooled one, and the large ones had enough data to be judged.
    expect(tested).toBe(20 * 5);
    expect(healthySegments).toBeGreaterThanOrEqual(20 * 3);
  }, 60_000);

  it('pools values past maxSegments into "(other)", names them, and rolls back on a regression hidden there', () => {
    // Same first minute for all: ties go by name, so ap and eu get tests of their own; us and zz are pooled.
    const regions = { ap: 3000, eu: 1500, us: 800, zz: 100 };
    const plan = planWith({ metric: 'errors', worse: 'higher', by: 'region', maxSegments: 2 });
    const { ingest, assess } = setup(plan);
    const random = seededRandom(3);
    const records: IntervalRecord[] = [];
    for (let m = 0; m < 40; m++)
      records.push(...minuteOf(t0 + m * minuteMs, regions, random, (r) => (r === 'zz' ? 0.1 : 0.01)));
    ingest.ingest(records);
    const verdict = assess(t0 + 40 * minuteMs);
    expect(verdict.guardrails.map((g) => [g.name, g.status])).toEqual([
      ['errors (relative)', 'healthy'],
      ['errors (relative) in region=ap', 'healthy'],
      ['errors (relative) in region=eu', 'healthy'],
      ['errors (relative) in region=(other)', 'regressed'],
    ]);
    // The budget: half the guardrail's 0.01 to the whole population, half over maxSegments + 1 = 3 segment tests;
    // each test's threshold is ln(1/α) of its share, late onsets included.
    expect(verdict.guardrails.map((g) => g.evidence.alpha)).toEqual([0.005, 0.01 / 6, 0.01 / 6, 0.01 / 6]);
    expect(verdict.guardrails.map((g) => g.evidence.logEValueThreshold)).toEqual(
      [200, 600, 600, 600].map((a) => Number(Math.log(a).toPrecision(4))),
    );
    const other = verdict.guardrails[3];
    expect(other?.segment).toEqual({
      field: 'region',
      value: '(other)',
      stream: '0|region=(other)',
      pooledValues: 2,
      pooledNames: ['us', 'zz'],
      pooledUnnamed: false,
    });
    const decision = reconcile(plan, progressing, verdict, t0 + 40 * minuteMs);
    expect(decision.decision.action).toBe('rollback');
    expect(decision.decision.reason).toMatch(
      /^errors \(relative\) in region=\(other\): errors [\d.]+ % in treatment .* \(2 values pooled: us, zz\); the whole population is healthy \(errors [\d.]+ % in treatment against [\d.]+ % in control/,
    );
  });

  it('stores at most 100 values per flag; the rest go to "(other)" unnamed, counted in its verdict', () => {
    const plan = planWith({ metric: 'errors', worse: 'higher', by: 'tenant', maxSegments: 3 });
    const { ingest, assess } = setup(plan);
    const records: IntervalRecord[] = [];
    for (let k = 0; k < maxStoredSegments + 5; k++)
      for (const arm of ['treatment', 'control'])
        records.push({ flag: 'f', arm, at: t0, segment: `tenant-${k}`, requests: 10, errors: 0 });
    ingest.ingest(records);
    const verdict = assess(t0 + minuteMs);
    const names = verdict.guardrails.map((g) => g.name);
    expect(names).toEqual([
      'errors (relative)',
      'errors (relative) in tenant=tenant-0',
      'errors (relative) in tenant=tenant-1',
      'errors (relative) in tenant=tenant-10',
      'errors (relative) in tenant=(other)',
    ]);
    const other = verdict.guardrails.at(-1);
    expect(other?.segment).toMatchObject({ pooledValues: maxStoredSegments - 3, pooledUnnamed: true });
    // Nothing is dropped: the pooled segment holds every request the first three do not.
    expect(other?.evidence).toMatchObject({ treatment: { requests: (maxStoredSegments + 2) * 10 } });
    // Small segments waiting for data hold nothing: the whole population decides.
    expect(other?.advisory).toBe(true);
    expect(verdict.status).toBe(verdict.guardrails[0]?.status);
  });

  it('a small segment waiting for data holds the rollout only when the plan says requireEachSegment', () => {
    const regions = { us: 5000, tiny: 10 };
    const decide = (requireEachSegment: boolean) => {
      const plan = planWith({ metric: 'errors', worse: 'higher', by: 'region', requireEachSegment }, '0s');
      const { ingest, assess } = setup(plan);
      const random = seededRandom(5);
      const records: IntervalRecord[] = [];
      for (let m = 0; m < 30; m++) records.push(...minuteOf(t0 + m * minuteMs, regions, random));
      ingest.ingest(records);
      return reconcile(plan, progressing, assess(t0 + 30 * minuteMs), t0 + 30 * minuteMs).decision;
    };
    expect(decide(false)).toMatchObject({ action: 'complete' });
    expect(decide(false).reason).toMatch(/\(region: 1 of 2 segments healthy, 1 not yet judged\)$/);
    const held = decide(true);
    expect(held.action).toBe('hold');
    expect(held.reason).toMatch(/^waiting for data on errors \(relative\) in region=tiny: /);
  });

  it('rolls segment minutes up into hours and ages them out with the whole population', () => {
    const plan = planWith({ metric: 'errors', worse: 'higher', by: 'region' });
    const { ingest } = setup(plan);
    const random = seededRandom(9);
    const records: IntervalRecord[] = [];
    for (let m = 0; m < 120; m++) records.push(...minuteOf(t0 + m * minuteMs, { eu: 100 }, random));
    ingest.ingest(records);
    const total = (since: number) =>
      ingest.store
        .segmentSeries('f', since)
        .points.filter((p) => p.metric === 'errors')
        .reduce((sum, p) => sum + p.count, 0);
    const widths = () => new Set(ingest.store.segmentSeries('f', 0).points.map((p) => p.width));
    ingest.store.prune(t0 + 3 * 3_600_000, { rawRetentionMs: 3_600_000, retentionMs: 30 * 86_400_000 });
    expect(total(0)).toBe(120 * 100);
    expect(widths()).toEqual(new Set([3_600_000]));
    ingest.store.prune(t0 + 40 * 86_400_000, { rawRetentionMs: 3_600_000, retentionMs: 30 * 86_400_000 });
    expect(total(0)).toBe(0);
    // Its value is forgotten with its data, so it does not keep a place among the first maxSegments.
    expect(ingest.store.segmentSeries('f', 0).values).toEqual([]);
  });
});
