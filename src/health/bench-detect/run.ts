// The detection benchmark (`npm run bench:detect`): every scenario over many seeds, product and Flagger on the same traffic, figures printed as tables.
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { DriftSeedResult } from './drift-sim.ts';
import { flaggerDefaults } from './flagger-gate.ts';
import { type Job, type JobResult, planJobs, runJob } from './jobs.ts';
import { aaTable, driftTable, regressionTable } from './report.ts';
import { scenarios } from './scenarios.ts';
import type { WatchResult } from './simulate.ts';
import { type DriftFigures, type ScenarioFigures, summarizeDrift, summarizeScenario } from './summary.ts';
import { detectorThreshold, experimentPlan, releasePlan, watchersFor } from './watchers.ts';

export interface BenchOptions {
  seeds: { aa: number; regression: number; drift: number };
  /** 0 runs in this thread; otherwise that many worker threads. */
  workers: number;
}

export const fullSeeds = { aa: 2000, regression: 500, drift: 400 };
export const quickSeeds = { aa: 20, regression: 8, drift: 2 };

export interface BenchReport {
  options: BenchOptions;
  aa: ScenarioFigures[];
  regressions: ScenarioFigures[];
  drift: DriftFigures[];
  seconds: number;
  /** CPU time of the whole process, worker threads included. */
  cpuSeconds: number;
}

function runInWorkers(jobs: Job[], workers: number): Promise<JobResult[]> {
  const api = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./worker.ts', import.meta.url).href;
  const boot = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  const queue = [...jobs];
  const results: JobResult[] = [];
  return new Promise((resolve, reject) => {
    let live = Math.min(workers, queue.length);
    if (live === 0) resolve(results);
    for (let i = 0; i < Math.min(workers, jobs.length); i++) {
      const w = new Worker(boot, { eval: true });
      const feed = () => {
        const job = queue.shift();
        if (job) w.postMessage(job);
        else {
          void w.terminate();
          if (--live === 0) resolve(results);
        }
      };
      w.on('message', (r: JobResult | 'ready') => {
        if (r !== 'ready') results.push(r);
        feed();
      });
      w.on('error', reject);
    }
  });
}

export async function runBenchmark(options: BenchOptions): Promise<BenchReport> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const jobs = planJobs(options.seeds);
  const results = options.workers > 0 ? await runInWorkers(jobs, options.workers) : jobs.map(runJob);
  const perScenario = scenarios.map(() => [] as WatchResult[][]);
  const drift = { aa: [] as DriftSeedResult[], drift: [] as DriftSeedResult[] };
  for (const r of results) {
    if (r.kind === 'drift') drift[r.mode].push(...r.seeds);
    else perScenario[r.scenario]?.push(...r.seeds);
  }
  const figures = scenarios.map((s, i) =>
    summarizeScenario(
      s,
      watchersFor(s).map((w) => w.name),
      perScenario[i] ?? [],
    ),
  );
  const used = process.cpuUsage(cpu);
  return {
    options,
    aa: figures.filter((f) => f.scenario.kind === 'aa'),
    regressions: figures.filter((f) => f.scenario.kind !== 'aa'),
    drift: summarizeDrift(drift.aa, drift.drift),
    seconds: (performance.now() - started) / 1000,
    cpuSeconds: (used.user + used.system) / 1e6,
  };
}

function describePlan(plan: typeof releasePlan): string {
  const total = plan.guardrails.reduce((a, g) => a + g.weight, 0);
  return plan.guardrails
    .map((g) => {
      const alpha = ((plan.alpha * g.weight) / total).toPrecision(2);
      if (g.kind === 'errors')
        return `errors vs control α=${alpha} (${g.form}: Ville at 1/α, reflected at A=${detectorThreshold})`;
      if (g.kind === 'mean') return `${g.metric} mSPRT α=${alpha} τ=${g.tau.toPrecision(3)}`;
      if (g.kind === 'tail') return `latency p${g.quantile} exceedances α=${alpha}`;
      return `errors ≤ ${g.limit} confidence sequence α=${alpha}`;
    })
    .join('; ');
}

export function formatReport(r: BenchReport): string {
  const { aa, regression, drift } = r.options.seeds;
  const aaCount = scenarios.filter((s) => s.kind === 'aa').length;
  const ticks = (aa * aaCount + regression * (scenarios.length - aaCount)) * 1440;
  return [
    'Rollgate detection benchmark — seeded simulation, one-minute ticks, each rollout 24 h or until every gate fired',
    'traffic: 1,000 req/min ±20% diurnal (random phase per seed), Poisson per arm; errors 0.5%; latency lognormal median 100 ms, σ 0.5; conversions 5%; revenue/purchase lognormal median 30, σ 0.8, capped at 200',
    `seeds: A/A ${aa} per scenario, regressions ${regression} per scenario, drift ${drift} × 14 days healthy + ${drift} drifting; streams seeded by (scenario index, seed 0..n−1); ≤ ${ticks.toLocaleString('en')} rollout-minutes + ≤ ${(drift * 21 * 1440).toLocaleString('en')} drift minutes`,
    `release plan (α=0.01 per rollout, Bonferroni): ${describePlan(releasePlan)}`,
    `experiment plan: ${describePlan(experimentPlan)}`,
    'fed to the product: error incidents per arm per minute (a burst of 3–10 errors from one user counts once; independent errors count one each), log-latency sums, exceedances over control p99 fixed beforehand, conversions and capped revenue per visit; both error guardrails (against control, and the 2% SLO) count incidents',
    `Flagger: ${flaggerDefaults.threshold} failed checks (cumulative, as Status.FailedChecks) of 1-minute success rate < ${100 - flaggerDefaults.maxErrorPercent}% or p99 > ${flaggerDefaults.maxP99Ms} ms, on the same treatment traffic and raw errors; "errors cum./refl." = the error test alone in one form at α=0.008`,
    '',
    'A/A — false rollbacks per rollout within 24 h, % [Wilson 95%]; target every row ≤ 1% (upper ≤ 1.5%). "SRM holds" = rollouts with any minute flagged (a hold, released when p recovers)',
    aaTable(r.aa),
    '',
    'Regressions — power within 24 h; delay from onset (min, counting the minute that fired), treatment requests and bad events served before rollback, median / p90 over detected seeds; cum./refl. = single-form medians',
    regressionTable(r.regressions),
    '',
    driftTable(r.drift, drift),
    '',
    `runtime ${r.seconds.toFixed(1)} s wall, ${r.cpuSeconds.toFixed(1)} s CPU, with ${r.options.workers || 'no'} worker thread(s)`,
  ].join('\n');
}

function parseArgs(argv: string[]): BenchOptions {
  const quick = argv.includes('--quick');
  const seeds = { ...(quick ? quickSeeds : fullSeeds) };
  let workers = quick ? 0 : 2;
  for (let i = 0; i < argv.length; i++) {
    const value = Number(argv[i + 1]);
    if (argv[i] === '--workers') workers = value;
    if (argv[i] === '--aa-seeds') seeds.aa = value;
    if (argv[i] === '--seeds') seeds.regression = value;
    if (argv[i] === '--drift-seeds') seeds.drift = value;
  }
  return { seeds, workers };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const report = await runBenchmark(parseArgs(process.argv.slice(2)));
  console.log(formatReport(report));
}
