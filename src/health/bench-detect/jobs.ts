// Units of benchmark work (a range of seeds of one scenario), runnable in-process or in a worker thread.
import { type Scenario, scenarios } from './scenarios.ts';
import { runSeed, type SeedResult } from './simulate.ts';

export interface Seeds {
  /** A/A over a day. */
  aa: number;
  /** A/A over a week's hold and a fortnight's holdback. */
  long: number;
  regression: number;
  drift: number;
  /** The Flagger and Kayenta-style gates run on the first this many seeds of a scenario (they are slow to judge). */
  gates: number;
}

export type Job = {
  scenario: number;
  from: number;
  to: number;
  gateSeeds: number;
  maxHorizonMinutes?: number;
};
export type JobResult = { scenario: number; seeds: SeedResult[] };

export function seedsFor(s: Scenario, seeds: Seeds): number {
  if (s.kind === 'aa') return seeds.aa;
  if (s.kind === 'long-aa') return seeds.long;
  if (s.kind === 'drift') return seeds.drift;
  return seeds.regression;
}

export function runJob(job: Job): JobResult {
  const scenario = scenarios[job.scenario];
  if (!scenario) throw new Error(`no scenario ${job.scenario}`);
  const seeds: SeedResult[] = [];
  for (let seed = job.from; seed < job.to; seed++)
    seeds.push(runSeed(scenario, job.scenario, seed, seed < job.gateSeeds, job.maxHorizonMinutes));
  return { scenario: job.scenario, seeds };
}

/** Splits every scenario's seeds into chunks small enough to balance worker threads. */
export function planJobs(seeds: Seeds, maxHorizonMinutes?: number, chunk = 10): Job[] {
  const jobs: Job[] = [];
  scenarios.forEach((s, scenario) => {
    const n = seedsFor(s, seeds);
    for (let from = 0; from < n; from += chunk)
      jobs.push({
        scenario,
        from,
        to: Math.min(n, from + chunk),
        gateSeeds: seeds.gates,
        ...(maxHorizonMinutes !== undefined ? { maxHorizonMinutes } : {}),
      });
  });
  return jobs;
}
