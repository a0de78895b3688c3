// The detection benchmark measures the product's real path (ingest, store, assess, reconcile) and models its comparisons as Flagger and Kayenta decide.
import { describe, expect, it } from 'vitest';
import {
  createFlaggerGate,
  createKayentaJudge,
  flaggerSettings,
  kayentaSettings,
  mannWhitneyZ,
} from '../../src/health/bench-detect/baselines.ts';
import {
  type ArmMinute,
  histogramQuantile,
  reporterBoundsMs,
  simulateArmMinute,
  toRecord,
} from '../../src/health/bench-detect/reporter.ts';
import { formatReport, runBenchmark } from '../../src/health/bench-detect/run.ts';
import { scenarios } from '../../src/health/bench-detect/scenarios.ts';
import { runSeed } from '../../src/health/bench-detect/simulate.ts';
import { healthy } from '../../src/health/bench-detect/traffic.ts';
import { parseSignalBatch } from '../../src/health/signal-schema.ts';
import { createRng } from '../../src/prng.ts';

function run(id: string, seed: number, maxHorizon?: number) {
  const index = scenarios.findIndex((s) => s.id === id);
  const scenario = scenarios[index];
  if (!scenario) throw new Error(`no scenario ${id}`);
  return runSeed(scenario, index, seed, true, maxHorizon);
}

const minute = (requests: number, errors: number, slowMs?: number): ArmMinute => {
  const bins = new Array<number>(reporterBoundsMs.length + 1).fill(0);
  const at =
    slowMs === undefined ? reporterBoundsMs.indexOf(128) : reporterBoundsMs.findIndex((b) => b >= slowMs);
  bins[at] = requests;
  return {
    requests,
    errors,
    incidents: errors,
    bins,
    latencySumMs: requests * 100,
    conversions: 0,
    revenue: 0,
    revenueSquares: 0,
  };
};

describe('the benchmark drives the product through ingest, assess and reconcile', () => {
  it('rolls back a tenfold error regression at 25 % within minutes, naming the guardrail', () => {
    for (const seed of [0, 1]) {
      const [release] = run('errors-10x-25pct', seed).product;
      expect(release?.rolledBackAt).not.toBeNull();
      expect(release?.rolledBackAt).toBeLessThanOrEqual(5);
      expect(release?.reason).toBe('errors (relative) [cumulative]');
      expect(release?.requestsSinceOnset).toBeGreaterThan(0);
    }
  });

  it('keeps healthy 5 % rollouts running, and holds (never rolls back) a broken split', () => {
    for (const seed of [0, 1]) {
      for (const p of run('aa-5pct', seed, 120).product) expect(p.rolledBackAt).toBeNull();
    }
    const [split] = run('srm-5pct', 0, 200).product;
    expect(split?.rolledBackAt).toBeNull();
    expect(split?.holds).toContain('sample-ratio-mismatch');
  });

  it('replays the same minutes for the same seed', () => {
    expect(run('latency-20pct-5pct', 3, 60)).toEqual(run('latency-20pct-5pct', 3, 60));
  });

  it('posts records the signal schema accepts, with the histogram on the product bounds', () => {
    const rng = createRng(1);
    const m = simulateArmMinute(rng, 1000, healthy);
    const record = toRecord('bench.release', 'treatment', 0, m, { outcomes: true });
    expect(parseSignalBatch([record], Number.POSITIVE_INFINITY).ok).toBe(true);
    expect(m.bins.reduce((a, b) => a + b, 0)).toBe(m.requests);
    const p99 = histogramQuantile(m.bins, 0.99) as number;
    expect(p99).toBeGreaterThan(250);
    expect(p99).toBeLessThan(450);
  });
});

describe('Flagger as its scheduler runs the analysis', () => {
  const docs = flaggerSettings[0];
  if (!docs) throw new Error('no Flagger settings');

  it('counts failed checks without resetting them and rolls back at the check after the threshold', () => {
    const gate = createFlaggerGate(docs);
    const decisions = [];
    // Alternate failing (2 % errors) and passing minutes: passes never reset the counter.
    for (let m = 0; m < 20; m++) {
      const d = gate.observe({
        minute: m,
        treatment: minute(100, m % 2 === 0 ? 2 : 0),
        control: minute(900, 0),
      });
      decisions.push(d?.action ?? null);
      if (d) break;
    }
    // Failures at minutes 0, 2, 4, 6, 8 reach the threshold of 5; the next check (minute 9) rolls back,
    // before the 6 passes that would promote (a step of 10 up to 50, then one more).
    expect(decisions.indexOf('rollback')).toBe(9);
  });

  it('promotes after the weight steps pass, and fails a check without data or with a slow p99', () => {
    const gate = createFlaggerGate(docs);
    let promotedAt = -1;
    for (let m = 0; m < 10 && promotedAt < 0; m++)
      if (gate.observe({ minute: m, treatment: minute(100, 0), control: minute(900, 0) })) promotedAt = m;
    expect(promotedAt).toBe(5);
    const starved = createFlaggerGate(docs);
    const slow = createFlaggerGate(docs);
    let starvedAt = -1;
    let slowAt = -1;
    for (let m = 0; m < 10; m++) {
      if (starvedAt < 0 && starved.observe({ minute: m, treatment: minute(0, 0), control: minute(900, 0) }))
        starvedAt = m;
      if (slowAt < 0 && slow.observe({ minute: m, treatment: minute(100, 0, 700), control: minute(900, 0) }))
        slowAt = m;
    }
    expect(starvedAt).toBe(5);
    expect(slowAt).toBe(5);
  });
});

describe('the Kayenta-style judge', () => {
  it('scores Mann-Whitney per interval: equal samples pass, a clearly higher canary error rate fails', () => {
    expect(mannWhitneyZ([1, 1, 1], [1, 1, 1])).toBeNull();
    expect(mannWhitneyZ([5, 6, 7, 8], [1, 2, 3, 4]) as number).toBeGreaterThan(2);
    const settings = kayentaSettings[0];
    if (!settings) throw new Error('no Kayenta settings');
    const judge = createKayentaJudge(settings);
    let decision = null;
    for (let m = 0; m < 60 && !decision; m++)
      decision = judge.observe({
        minute: m,
        treatment: minute(100, 3 + (m % 3)),
        control: minute(900, m % 2),
      });
    expect(decision?.action).toBe('rollback');
    expect(decision?.reason).toContain('error rate high');
  });
});

describe('the benchmark runner', () => {
  it('reports every scenario with the seeds asked for', async () => {
    const report = await runBenchmark({
      seeds: { aa: 1, long: 1, regression: 1, drift: 1, gates: 1 },
      workers: 0,
      maxHorizonMinutes: 30,
    });
    expect(report.figures).toHaveLength(scenarios.length);
    for (const f of report.figures) expect(f.product[0]?.fired.n).toBe(1);
    const text = formatReport(report);
    expect(text).toContain('SMOKE RUN');
    expect(text).toContain('errors ×5 at 5% after 60 healthy min');
    expect(text).toContain('A/A held 7 days at 5%');
    expect(text).toContain('Flagger docs');
  });
});
