// The detection benchmark (`npm run bench:detect`): every scenario over many seeds through the product's real path (ingest, store, assess, reconcile), Flagger and Kayenta-style gates on the same minutes, figures printed as tables.
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { flaggerSettings, kayentaSettings } from './baselines.ts';
import { type Job, type JobResult, planJobs, runJob, type Seeds } from './jobs.ts';
import { guardrailsOf } from './plans.ts';
import { aaTable, driftTable, longTable, regressionTable } from './report.ts';
import { reporterBoundsMs } from './reporter.ts';
import { scenarios } from './scenarios.ts';
import {
  denseMinutes,
  gateNames,
  historyMinutes,
  type SeedResult,
  slowAboveMs,
  sparseTickMinutes,
} from './simulate.ts';
import { type ScenarioFigures, summarizeScenario } from './summary.ts';

export interface BenchOptions {
  seeds: Seeds;
  /** 0 runs in this thread; otherwise that many worker threads. */
  workers: number;
  /** Cuts every rollout short (the smoke run): its figures are not the benchmark's. */
  maxHorizonMinutes?: number;
}

/** Enough A/A seeds that a 1 % false-rollback rate would show (Wilson upper bound near 1.5 % when none fire); gates on the first 40. */
export const fullSeeds: Seeds = { aa: 200, long: 60, regression: 64, drift: 32, gates: 40 };
export const quickSeeds: Seeds = { aa: 1, long: 1, regression: 1, drift: 1, gates: 1 };
/** The smoke run: one seed of every scenario, each cut at three hours. */
export const quickHorizonMinutes = 180;

export interface BenchReport {
  options: BenchOptions;
  figures: ScenarioFigures[];
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
  const jobs = planJobs(options.seeds, options.maxHorizonMinutes);
  const results = options.workers > 0 ? await runInWorkers(jobs, options.workers) : jobs.map(runJob);
  const perScenario = scenarios.map(() => [] as SeedResult[]);
  for (const r of results) perScenario[r.scenario]?.push(...r.seeds);
  const used = process.cpuUsage(cpu);
  return {
    options,
    figures: scenarios.map((s, i) => summarizeScenario(s, gateNames, perScenario[i] ?? [])),
    seconds: (performance.now() - started) / 1000,
    cpuSeconds: (used.user + used.system) / 1e6,
  };
}

const guardrailList = (role: keyof typeof guardrailsOf) =>
  (guardrailsOf[role] ?? [])
    .map(
      (g) =>
        `${g.metric}${g.quantile ? ` p${g.quantile * 100}` : ''}${g.max !== undefined ? ` ≤ ${g.max}` : ''}`,
    )
    .join(', ');

export function formatReport(r: BenchReport): string {
  const { aa, long, regression, drift } = r.options.seeds;
  const of = (...kinds: string[]) =>
    r.figures.filter((f) => kinds.includes(f.scenario.kind) && f.product[0]?.fired.n);
  const flagger = flaggerSettings
    .map((s) => `${s.name}: success ≥ ${s.minSuccessPercent}%, p99 ≤ ${s.maxP99Ms} ms`)
    .join('; ');
  const kayenta = kayentaSettings.map((s) => `${s.name}: marginal ${s.marginal}, pass ${s.pass}`).join('; ');
  return [
    "Rollgate detection benchmark — the product's real path: the service reporter posts each arm's minute, ingest stores it in SQLite, assess and reconcile run on a virtual clock (the code `rollgate replay` runs)",
    `traffic: 1,000 req/min ±20% diurnal (random phase per seed), Poisson per arm; errors 0.5%; latency lognormal median 100 ms, σ 0.5, reported as a histogram on ${reporterBoundsMs.length} of the product's bounds (${reporterBoundsMs[0]}–${reporterBoundsMs.at(-1)} ms) with its sum; conversions 5%; capped revenue; ${historyMinutes} control-only minutes before the flip (thresholds and τ are the product's own)`,
    `seeds per scenario: A/A ${aa}, week/fortnight A/A ${long}, regressions ${regression}, drift ${drift} (the gates on the first ${r.options.seeds.gates}); plans as YAML would give them: release = ${guardrailList('release')}; experiment = ${guardrailList('experiment')}; drift = ${guardrailList('errors-only')}; α = 0.01 per plan; the split check on`,
    ...(r.options.maxHorizonMinutes !== undefined
      ? [
          `SMOKE RUN: every rollout cut at ${r.options.maxHorizonMinutes} min; these figures are not the benchmark's`,
        ]
      : []),
    `ticks: every minute for ${denseMinutes} min after a regression's onset and through the ramp, every 5 min through a ramp, hourly for drift, else every ${sparseTickMinutes / 60} h (alarms are sticky and tests fold from a fixed start, so sparse ticks find the same rollbacks, dated later)`,
    `gates on the same minutes at the same exposure: ${flagger}; ${kayenta}`,
    '',
    'A/A — false rollbacks per rollout within 24 h (gates: within their own analysis, which then promotes), % [Wilson 95%]; target ≤ 1% (upper ≤ 1.5%)',
    aaTable(of('aa'), gateNames),
    '',
    'A/A over long horizons — false rollbacks per rollout (target ≤ 1%, the α a plan states)',
    longTable(of('long-aa')),
    '',
    `Regressions — power within 24 h; delay from onset in minutes (counting the minute that decided), treatment requests and bad events (errors, requests above ${slowAboveMs} ms, lost conversions) served before rollback, median / p90; gates: share caught before they promoted, @ median minutes`,
    regressionTable(of('regression', 'srm'), gateNames),
    '',
    'Drift after 100 % — treatment errors rise 1%/h against the holdback',
    driftTable(of('drift')),
    '',
    `runtime ${r.seconds.toFixed(1)} s wall, ${r.cpuSeconds.toFixed(1)} s CPU, with ${r.options.workers || 'no'} worker thread(s)`,
  ].join('\n');
}

function parseArgs(argv: string[]): BenchOptions {
  const quick = argv.includes('--quick');
  const seeds = { ...(quick ? quickSeeds : fullSeeds) };
  let workers = 0;
  for (let i = 0; i < argv.length; i++) {
    const value = Number(argv[i + 1]);
    if (argv[i] === '--workers') workers = value;
    if (argv[i] === '--aa-seeds') seeds.aa = value;
    if (argv[i] === '--long-seeds') seeds.long = value;
    if (argv[i] === '--seeds') seeds.regression = value;
    if (argv[i] === '--drift-seeds') seeds.drift = value;
    if (argv[i] === '--gate-seeds') seeds.gates = value;
  }
  return quick ? { seeds, workers, maxHorizonMinutes: quickHorizonMinutes } : { seeds, workers };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const report = await runBenchmark(parseArgs(process.argv.slice(2)));
  console.log(formatReport(report));
}
