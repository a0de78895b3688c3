// Units of benchmark work (a range of seeds of one scenario, or of the drift study), runnable in-process or in a worker thread.
import { type DriftSeedResult, runDriftSeed } from './drift-sim.ts';
import { scenarios } from './scenarios.ts';
import { runSeed, type WatchResult } from './simulate.ts';
import { watchersFor } from './watchers.ts';

export type Job =
  | { kind: 'scenario'; scenario: number; from: number; to: number }
  | { kind: 'drift'; mode: 'aa' | 'drift'; from: number; to: number };

export type JobResult =
  | { kind: 'scenario'; scenario: number; seeds: WatchResult[][] }
  | { kind: 'drift'; mode: 'aa' | 'drift'; seeds: DriftSeedResult[] };

export function runJob(job: Job): JobResult {
  const seeds = [];
  if (job.kind === 'drift') {
    const results: DriftSeedResult[] = [];
    for (let seed = job.from; seed < job.to; seed++) results.push(runDriftSeed(seed, job.mode));
    return { kind: 'drift', mode: job.mode, seeds: results };
  }
  const scenario = scenarios[job.scenario];
  if (!scenario) throw new Error(`no scenario ${job.scenario}`);
  for (let seed = job.from; seed < job.to; seed++) {
    seeds.push(runSeed(scenario, job.scenario, seed, watchersFor(scenario)));
  }
  return { kind: 'scenario', scenario: job.scenario, seeds };
}

/** Splits every scenario's seeds and the drift study into chunks small enough to balance two workers. */
export function planJobs(seeds: { aa: number; regression: number; drift: number }, chunk = 100): Job[] {
  const jobs: Job[] = [];
  const split = (n: number, make: (from: number, to: number) => Job) => {
    for (let from = 0; from < n; from += chunk) jobs.push(make(from, Math.min(n, from + chunk)));
  };
  split(seeds.drift, (from, to) => ({ kind: 'drift', mode: 'aa', from, to }));
  split(seeds.drift, (from, to) => ({ kind: 'drift', mode: 'drift', from, to }));
  scenarios.forEach((s, i) => {
    split(s.kind === 'aa' ? seeds.aa : seeds.regression, (from, to) => ({
      kind: 'scenario',
      scenario: i,
      from,
      to,
    }));
  });
  return jobs;
}
