// Prints the benchmark's figures as plain-text tables, product and Flagger side by side.
import { driftArl0, driftRatio, holdback, risePerHour, strictArl0 } from './drift-sim.ts';
import type { DriftFigures, Rate, RoleFigures, ScenarioFigures } from './summary.ts';
import { quantile } from './summary.ts';

const pct = (r: Rate) =>
  `${(100 * r.rate).toFixed(2)}% [${(100 * r.lower).toFixed(2)}, ${(100 * r.upper).toFixed(2)}]`;
const num = (x: number | null, digits = 0) => (x === null ? '—' : x.toFixed(digits));
const pad = (s: string, n: number) => (s.length >= n ? `${s} ` : s.padEnd(n));
const row = (cells: [string, number][]) =>
  cells
    .map(([s, n]) => pad(s, n))
    .join('')
    .trimEnd();

function role(f: ScenarioFigures, r: string): RoleFigures | undefined {
  return f.roles.find((x) => x.role === r);
}

function medP90(values: number[], digits = 0) {
  return `${num(quantile(values, 0.5), digits)} / ${num(quantile(values, 0.9), digits)}`;
}

function topReasons(r: RoleFigures): string {
  const entries = Object.entries(r.reasons).sort((a, b) => b[1] - a[1]);
  return entries.map(([k, v]) => `${k} ${v}`).join(', ') || '—';
}

export function aaTable(figures: ScenarioFigures[]): string {
  const widths = [38, 7, 24, 24, 12, 13, 16, 10];
  const head = row(
    [
      'A/A scenario',
      'seeds',
      'release plan',
      'experiment plan',
      'errors cum.',
      'errors refl.',
      'Flagger',
      'SRM holds',
    ].map((s, i) => [s, widths[i] as number]),
  );
  const lines = figures.map((f) => {
    const get = (r: string) => role(f, r) as RoleFigures;
    const short = (r: Rate) => `${(100 * r.rate).toFixed(2)}%`;
    return row(
      [
        f.scenario.label,
        String(get('release').fired.n),
        pct(get('release').fired),
        pct(get('experiment').fired),
        short(get('cumulative-only').fired),
        short(get('reflected-only').fired),
        `${short(get('flagger').fired)} @${num(quantile(get('flagger').minutes, 0.5))}m`,
        short(get('srm').fired),
      ].map((s, i) => [s, widths[i] as number]),
    );
  });
  const causes = figures.map(
    (f) => `  ${f.scenario.label}: ${topReasons(role(f, 'release') as RoleFigures)}`,
  );
  const raw = figures
    .map((f) => role(f, 'raw-errors'))
    .filter((r): r is RoleFigures => r !== undefined)
    .map((r) => `  ${r.name}: ${pct(r.fired)} false rollbacks (the product counts incidents instead)`);
  return [head, ...lines, 'release-plan false rollbacks by guardrail:', ...causes, ...raw].join('\n');
}

export function regressionTable(figures: ScenarioFigures[]): string {
  const widths = [38, 12, 7, 6, 12, 16, 14, 7, 4, 6, 6, 2, 7, 6, 12, 8];
  const titles = [
    'regression',
    'plan',
    'power',
    'early',
    'min med/p90',
    'req med/p90',
    'bad med/p90',
    'target',
    'met',
    'cum.',
    'refl.',
    '|',
    'Flagger',
    'early',
    'min med/p90',
    'bad med',
  ];
  const notes: string[] = [];
  const lines = figures.map((f) => {
    const isSrm = f.scenario.kind === 'srm';
    const p = role(f, isSrm ? 'srm' : f.product) as RoleFigures;
    const fl = role(f, 'flagger') as RoleFigures;
    const target = f.scenario.targetMedianMinutes;
    const median = quantile(p.minutes, 0.5);
    const met =
      target === undefined ? '' : median !== null && median <= target && p.power.rate >= 0.5 ? 'yes' : 'NO';
    const digits = f.scenario.badEvent === 'lost-conversions' ? 1 : 0;
    const release = role(f, 'release');
    if (isSrm && release) {
      notes.push(
        `  ${f.scenario.label}: the release plan rolled back ${pct(release.fired)} (it compares observed shares)`,
      );
    }
    const cells = [
      f.scenario.label,
      isSrm ? 'split check' : f.product,
      `${(100 * p.power.rate).toFixed(1)}%`,
      String(p.early),
      medP90(p.minutes),
      medP90(p.requests),
      isSrm ? '—' : medP90(p.bad, digits),
      target === undefined ? '—' : `≤ ${target}`,
      met,
      num(quantile(role(f, 'cumulative-only')?.minutes ?? [], 0.5)),
      num(quantile(role(f, 'reflected-only')?.minutes ?? [], 0.5)),
      '|',
      `${(100 * fl.power.rate).toFixed(1)}%`,
      String(fl.early),
      medP90(fl.minutes),
      num(quantile(fl.bad, 0.5), digits),
    ];
    return row(cells.map((s, i) => [s, widths[i] as number]));
  });
  return [row(titles.map((s, i) => [s, widths[i] as number])), ...lines, ...notes].join('\n');
}

export function driftTable(figures: DriftFigures[], seeds: number): string {
  const head = `Drift after 100 %: ${holdback * 100}% holdback; treatment errors rise ${risePerHour * 100}%/hour from full rollout; CUSUM at r = ${driftRatio}, product h = ln(${driftArl0}) = ${Math.log(driftArl0).toFixed(2)}, strict h = ln(${strictArl0}) = ${Math.log(strictArl0).toFixed(2)}; ${seeds} seeds × 14 healthy days, ${seeds} drifting (≤ 7 days)`;
  const widths = [42, 26, 30, 22, 14];
  const titles = [
    'detector',
    'false alarms / 14 days',
    'runs with any false alarm',
    'delay h med / p90',
    'detected ≤ 7d',
  ];
  const lines = figures.map((f) =>
    row(
      [
        f.name,
        f.alarmsPer14Days.toFixed(3),
        pct(f.anyAlarm),
        medP90(f.hours, 1),
        `${(100 * f.detected.rate).toFixed(1)}%`,
      ].map((s, i) => [s, widths[i] as number]),
    ),
  );
  return [head, row(titles.map((s, i) => [s, widths[i] as number])), ...lines].join('\n');
}
