// `npm run demo`: Rollgate and its guarded service on a temp directory, three rollouts, one injected defect.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseConfig } from '../config.ts';
import { createLogger } from '../log.ts';
import { createRollgate } from '../main.ts';
import { writeDemoPlans } from './demo-plans.ts';
import { startTrafficThread } from './demo-traffic.ts';
import { type FlagRow, renderSummary, renderTable } from './demo-view.ts';

const { values } = parseArgs({
  options: {
    'no-defect': { type: 'boolean', default: false },
    seed: { type: 'string', default: '1' },
    speed: { type: 'string', default: '60' },
    rate: { type: 'string', default: '450' },
    timeout: { type: 'string', default: '420' },
  },
});
const defect = !values['no-defect'];
const seed = Number(values.seed);
const speed = Number(values.speed);
const rate = Number(values.rate);
const timeoutS = Number(values.timeout);
if (![seed, speed, rate, timeoutS].every((n) => Number.isFinite(n) && n > 0)) {
  console.error('demo: --seed, --speed, --rate and --timeout must be positive numbers');
  process.exit(2);
}

// Simulated time runs `speed` times faster than the wall clock, so minute-sized signal buckets fill in a second.
const realStart = Date.now();
const clock = () => realStart + (Date.now() - realStart) * speed;
const flagNames = ['schema.ai-model', 'queue.async-tasks', 'pricing.dynamic-offers'];

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'rollgate-demo-'));
const flagsDir = path.join(work, 'flags');
fs.mkdirSync(flagsDir);
writeDemoPlans(path.resolve(import.meta.dirname, '../../flags'), flagsDir, {
  maxBakeMs: 2 * 60_000,
  exposureDivisor: 20,
  maxMinRequests: 50,
  errorRatio: 10,
});
const admin = 'demo-admin-token-0123456789';
const parsed = parseConfig({
  PORT: '0',
  ROLLGATE_FLAGS_DIR: flagsDir,
  ROLLGATE_DATA_DIR: path.join(work, 'data'),
  ROLLGATE_ADMIN_TOKENS: `demo=${admin}`,
  ROLLGATE_TICK_INTERVAL: '250ms',
  ROLLGATE_WATCH: 'false',
});
if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
const logFile = path.join(work, 'rollgate.log');
const logStream = fs.createWriteStream(logFile);
const log = createLogger('info', { service: 'rollgate' }, (line) => logStream.write(`${line}\n`));
const rg = createRollgate(parsed.config, {
  clock,
  log,
  service: {
    // Tasks run 200 ms of real time (12 s simulated), long beside the milliseconds a queue hop takes, which the
    // time compression would otherwise multiply into a latency gap between the paths that no user would see.
    work: { seed: `demo-${seed}`, workMs: 200, failureRate: 0.005, queueDefectRate: defect ? 0.045 : 0 },
    workers: { pollMs: 20, concurrency: 128 },
    signals: { intervalMs: 60_000, flushMs: 250 },
    flags: { refreshMs: 250, metricsMs: 1_000 },
  },
});
const { url } = await rg.start();
const api = async (method: string, route: string, body?: unknown) => {
  const res = await fetch(`${url}${route}`, {
    method,
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return (await res.json()) as Record<string, unknown>;
};

console.log(
  `Rollgate demo: ${url} · simulated time ${speed}× (1 s = ${speed} s) · injected queue defect: ${defect ? 'on' : 'off'}`,
);
console.log(
  `Plans compressed: bakes at most 2 minutes, exposure minimums ÷20 and at most 50 requests, error and tail guardrails pass a stage once a 10× rise would have shown.`,
);
console.log(`Working directory ${work} (log: rollgate.log)\n`);

const traffic = startTrafficThread({
  baseUrl: url,
  seed,
  users: 60_000,
  concurrency: 192,
  ratePerSecond: rate,
  baseConversion: 0.1,
});
// The service runs a few simulated minutes before the rollouts start, as it would in production: control's
// history fixes the latency-tail thresholds and the baselines before the first user is switched over.
await new Promise((r) => setTimeout(r, 8_000));
for (const flag of flagNames) await api('POST', `/api/admin/flags/${flag}/rollout/start`, { reason: 'demo' });

const done = (r: FlagRow) => ['completed', 'rolled-back', 'paused'].includes(r.phase);
const tty = process.stdout.isTTY;
let drawn = 0;
let lastLine = '';
let rows: FlagRow[] = [];
while (Date.now() - realStart < timeoutS * 1000) {
  rows = await Promise.all(
    flagNames.map(async (name) => {
      const { flag } = (await api('GET', `/api/admin/flags/${name}`)) as { flag: FlagRow['flag'] };
      const { verdict } = (await api('GET', `/api/admin/flags/${name}/health`)) as {
        verdict: FlagRow['verdict'];
      };
      return { name, flag, verdict, phase: flag.phase };
    }),
  );
  const table = renderTable(rows, traffic.stats, (clock() - realStart) / 60_000);
  if (tty) {
    if (drawn) process.stdout.write(`\x1b[${drawn}A\x1b[J`);
    process.stdout.write(table);
    drawn = table.split('\n').length - 1;
  } else {
    const line = rows.map((r) => `${r.name}=${r.phase}@${r.flag.percent}%`).join(' ');
    if (line !== lastLine) console.log(`[sim +${Math.round((clock() - realStart) / 60_000)}m] ${line}`);
    lastLine = line;
  }
  if (rows.every(done)) break;
  await new Promise((r) => setTimeout(r, 500));
}

await traffic.stop();
const events = await Promise.all(
  flagNames.map(
    async (name) =>
      ((await api('GET', `/api/admin/events?flag=${name}&limit=100`)) as { events: unknown[] }).events,
  ),
);
const pricing = (await api(
  'GET',
  `/api/admin/flags/pricing.dynamic-offers/health?since=${new Date(realStart).toISOString()}`,
)) as {
  series: { intervals: Array<{ arms: Record<string, Record<string, number>> }> };
};
await rg.stop();
logStream.end();

const phase = (name: string) => rows.find((r) => r.name === name)?.phase ?? 'unknown';
const rolledBy = (i: number) =>
  (events[i] as Array<{ type: string; actor: string }>).find((e) => e.type === 'rollout.rolled-back')?.actor;
const expected = defect
  ? [
      [
        'queue.async-tasks is rolled back by the controller',
        phase('queue.async-tasks') === 'rolled-back' && rolledBy(1) === 'controller',
      ],
      ['schema.ai-model reaches 100 %', phase('schema.ai-model') === 'completed'],
      ['pricing.dynamic-offers reaches a decision', done(rows[2] as FlagRow)],
    ]
  : [
      ['nothing rolls back', rows.every((r) => r.phase !== 'rolled-back')],
      ['queue.async-tasks reaches 100 %', phase('queue.async-tasks') === 'completed'],
      ['schema.ai-model reaches 100 %', phase('schema.ai-model') === 'completed'],
      ['pricing.dynamic-offers reaches a decision', done(rows[2] as FlagRow)],
    ];
process.stdout.write(renderSummary(flagNames, events as never, pricing.series.intervals, traffic.stats));
console.log('\nExpected outcomes:');
for (const [label, ok] of expected) console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${label}`);
const passed = expected.every(([, ok]) => ok);
console.log(passed ? '\nDemo passed.' : `\nDemo failed; see ${logFile}`);
process.exit(passed ? 0 : 1);
