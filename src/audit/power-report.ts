// `npm run audit:power -- [--traffic N] [--flags dir]`: the power audit of plan files, offline, as a Markdown table.
import { parseArgs } from 'node:util';
import { loadPlanDir } from '../plans/load.ts';
import { formatProblem } from '../plans/validate.ts';
import type { AuditCheck } from './check.ts';
import { powerChecks } from './power.ts';
import { trafficSchema } from './traffic.ts';

const minutes = (m: AuditCheck['numbers'][string] | undefined) =>
  typeof m !== 'number' ? 'never' : m >= 60 ? `${Math.floor(m / 60)}h${m % 60 ? `${m % 60}m` : ''}` : `${m}m`;

export function powerTable(checks: readonly AuditCheck[]): string {
  const rows = checks
    .filter((c) => c.numbers.guardrail !== undefined)
    .map((c) => {
      const n = c.numbers;
      const smallest =
        n.smallestRelative === null
          ? '> 16× target'
          : `${Math.round(Number(n.smallestRelative) * 1000) / 10} %`;
      const guardrail =
        n.segment === undefined
          ? n.guardrail
          : `${n.guardrail}, change in ${n.segment} only (${Math.round(Number(n.segmentShare) * 1000) / 10} %)`;
      return `| ${c.subject} | ${n.stage} (${n.percent} %) | ${guardrail} | ${Math.round(Number(n.targetRelative) * 1000) / 10} % | ${minutes(n.detectionMinutes)} | ${minutes(n.promotionMinutes)} | ${n.caughtBeforePromotion ?? '-'} | ${n.promotionMinutes === null ? '-' : smallest} | **${c.status}** |`;
    });
  return [
    '| plan | stage | guardrail | target change | caught after (median) | promotes after (median) | caught first (seeds) | smallest caught before promotion | status |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

if (import.meta.filename === process.argv[1] || process.argv[1]?.endsWith('power-report.ts')) {
  const { values } = parseArgs({
    options: { traffic: { type: 'string', default: '1000' }, flags: { type: 'string', default: 'flags' } },
  });
  const traffic = trafficSchema.safeParse(values.traffic?.replace(/\/min$/, ''));
  if (!traffic.success) {
    console.error(`--traffic "${values.traffic}": ${traffic.error.issues[0]?.message}`);
    process.exit(2);
  }
  const loaded = loadPlanDir(values.flags ?? 'flags');
  if (!loaded.ok) {
    console.error(loaded.problems.map(formatProblem).join('\n'));
    process.exit(1);
  }
  const started = Date.now();
  const checks = loaded.plans.flatMap(({ plan }) =>
    powerChecks({ plan, traffic: traffic.data, trafficSource: '--traffic' }),
  );
  console.log(`power audit at ${traffic.data} requests/min, ${Date.now() - started} ms\n`);
  console.log(powerTable(checks));
  for (const c of checks.filter((c) => c.numbers.guardrail === undefined))
    console.log(`\n${c.status}: ${c.summary}`);
}
