// The detection benchmark's simulation is sound: healthy traffic stays quiet, gross regressions are caught, seeds replay, quick mode reports every scenario.
import { describe, expect, it } from 'vitest';
import { runDriftSeed } from '../../src/health/bench-detect/drift-sim.ts';
import { type BenchOptions, formatReport, runBenchmark } from '../../src/health/bench-detect/run.ts';
import { scenarios } from '../../src/health/bench-detect/scenarios.ts';
import { runSeed } from '../../src/health/bench-detect/simulate.ts';
import { rolesFor, watchersFor } from '../../src/health/bench-detect/watchers.ts';

function run(id: string, seed: number) {
  const index = scenarios.findIndex((s) => s.id === id);
  const scenario = scenarios[index];
  if (!scenario) throw new Error(`no scenario ${id}`);
  const results = runSeed(scenario, index, seed, watchersFor(scenario));
  const roles = rolesFor(scenario);
  return (role: string) => results[roles.indexOf(role as never)];
}

describe('the detection benchmark simulation', () => {
  it('rolls back no healthy 5 % rollout with either product plan on these seeds', () => {
    for (const seed of [0, 1, 2]) {
      const result = run('aa-5pct', seed);
      expect(result('release')?.minute).toBeNull();
      expect(result('experiment')?.minute).toBeNull();
    }
  });

  it('rolls back a tenfold error regression at 25 % within minutes on every seed', () => {
    for (const seed of [0, 1, 2]) {
      const release = run('errors-10x-25pct', seed)('release');
      expect(release?.minute).not.toBeNull();
      expect(release?.minute).toBeLessThanOrEqual(5);
      expect(release?.reason).toBe('errors (both)');
      expect(release?.requestsSinceOnset).toBeGreaterThan(0);
    }
  });

  it('lets Flagger’s fixed gate roll back a healthy 1 % rollout, the failure the product avoids', () => {
    expect(run('aa-1pct', 0)('flagger')?.minute).not.toBeNull();
  });

  it('replays the same minutes for the same seed', () => {
    expect(run('latency-20pct-5pct', 3)('release')).toEqual(run('latency-20pct-5pct', 3)('release'));
  });

  it('catches the slow drift against the holdback, while a fixed baseline alarms on healthy days', () => {
    const drifting = runDriftSeed(0, 'drift');
    expect(drifting.hours[0]).not.toBeNull();
    expect(drifting.hours[0]).toBeLessThan(7 * 24);
    const healthy = runDriftSeed(0, 'aa');
    expect(healthy.alarms[2]).toBeGreaterThan(0);
  });
});

describe('the benchmark runner', () => {
  const tiny: BenchOptions = { seeds: { aa: 2, regression: 2, drift: 1 }, workers: 0 };

  it('reports every scenario with the seeds asked for, in quick mode', async () => {
    const report = await runBenchmark(tiny);
    expect(report.aa.length + report.regressions.length).toBe(scenarios.length);
    for (const f of report.aa) expect(f.roles.every((r) => r.fired.n === 2)).toBe(true);
    for (const f of report.regressions) expect(f.roles[0]?.fired.n).toBe(2);
    expect(report.drift).toHaveLength(3);
    const text = formatReport(report);
    expect(text).toContain('A/A — false rollbacks');
    expect(text).toContain('errors ×5 at 5% after 60 healthy min');
    expect(text).toContain('fixed-baseline CUSUM');
  });

  it('gives the same figures from worker threads as in-process', async () => {
    const seeds = { aa: 1, regression: 1, drift: 1 };
    const inline = await runBenchmark({ seeds, workers: 0 });
    const threaded = await runBenchmark({ seeds, workers: 1 });
    expect(threaded.regressions.map((f) => f.roles.map((r) => r.minutes))).toEqual(
      inline.regressions.map((f) => f.roles.map((r) => r.minutes)),
    );
  });
});
