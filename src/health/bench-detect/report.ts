// Prints the benchmark's figures as plain-text tables: the product's plans beside the Flagger and Kayenta-style gates.
import type { Rate, ScenarioFigures, WatcherFigures } from './summary.ts';
import { quantile } from './summary.ts';

const pct = (r: Rate) =>
  `${(100 * r.rate).toFixed(2)}% [${(100 * r.lower).toFixed(2)}, ${(100 * r.upper).toFixed(2)}]`;
const short = (r: Rate) => `${(100 * r.rate).toFixed(1)}%`;
const num = (x: number | null, digits = 0) => (x === null ? '—' : x.toFixed(digits));
const pad = (s: string, n: number) => (s.length >= n ? `${s} ` : s.padEnd(n));
const row = (cells: string[], widths: readonly number[]) =>
  cells
    .map((s, i) => pad(s, widths[i] ?? 10))
    .join('')
    .trimEnd();
const medP90 = (values: number[], digits = 0, scale = 1) =>
  `${num(scaled(quantile(values, 0.5), scale), digits)} / ${num(scaled(quantile(values, 0.9), scale), digits)}`;
const scaled = (x: number | null, scale: number) => (x === null ? null : x / scale);

function entries(record: Record<string, number>): string {
  return (
    Object.entries(record)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || '—'
  );
}

/** A gate's A/A cell: false rollbacks, and when its analysis promoted instead. */
function gateCell(g: WatcherFigures): string {
  return `${short(g.fired)}`;
}

export function aaTable(figures: readonly ScenarioFigures[], gateNames: readonly string[]): string {
  const widths = [40, 7, 26, 26, ...gateNames.map(() => 11)];
  const head = row(
    ['A/A scenario', 'seeds', 'product plan', 'second plan', ...gateNames.map((_, i) => `gate ${i + 1}`)],
    widths,
  );
  const lines = figures.map((f) => {
    const [first, second] = f.product;
    return row(
      [
        f.scenario.label,
        String(first?.fired.n ?? 0),
        first ? `${first.name} ${pct(first.fired)}` : '—',
        second ? `${second.name} ${short(second.fired)}` : '—',
        ...f.gates.map(gateCell),
      ],
      widths,
    );
  });
  const legend = gateNames.map((n, i) => `  gate ${i + 1}: ${n}`);
  const causes = figures.flatMap((f) =>
    f.product.map(
      (p) =>
        `  ${f.scenario.label}, ${p.name}: rollbacks by guardrail ${entries(p.reasons)}; holds entered ${entries(p.holds)}`,
    ),
  );
  return [head, ...lines, ...legend, 'why the product rolled back or held (seeds):', ...causes].join('\n');
}

export function longTable(figures: readonly ScenarioFigures[]): string {
  const widths = [44, 7, 28, 22, 40];
  const head = row(
    ['long A/A', 'seeds', 'false rollbacks [95%]', 'hours to it med/p90', 'by guardrail'],
    widths,
  );
  const lines = figures.map((f) => {
    const p = f.product[0] as WatcherFigures;
    return row(
      [f.scenario.label, String(p.fired.n), pct(p.fired), medP90(p.minutes, 1, 60), entries(p.reasons)],
      widths,
    );
  });
  return [head, ...lines].join('\n');
}

export function regressionTable(figures: readonly ScenarioFigures[], gateNames: readonly string[]): string {
  const widths = [38, 7, 6, 12, 14, 12, 7, 4, ...gateNames.map(() => 14)];
  const head = row(
    [
      'regression',
      'power',
      'early',
      'min med/p90',
      'req med/p90',
      'bad med/p90',
      'target',
      'met',
      ...gateNames.map((_, i) => `gate ${i + 1}`),
    ],
    widths,
  );
  const notes: string[] = [];
  const lines = figures.map((f) => {
    const p = f.product[0] as WatcherFigures;
    const isSrm = f.scenario.kind === 'srm';
    const target = f.scenario.targetMedianMinutes;
    const median = quantile(p.minutes, 0.5);
    const met =
      target === undefined ? '' : median !== null && median <= target && p.power.rate >= 0.5 ? 'yes' : 'NO';
    const digits = f.scenario.badEvent === 'lost-conversions' ? 1 : 0;
    if (isSrm)
      notes.push(
        `  ${f.scenario.label}: ${short(wilsonOf(p.holds['sample-ratio-mismatch'] ?? 0, p.fired.n))} of rollouts held on the split check; rolled back ${pct(p.fired)}`,
      );
    return row(
      [
        f.scenario.label,
        short(p.power),
        String(p.early),
        medP90(p.minutes),
        medP90(p.requests),
        medP90(p.bad, digits),
        target === undefined ? '—' : `≤ ${target}`,
        met,
        ...f.gates.map((g) => `${short(g.power)} @${num(quantile(g.minutes, 0.5))}m`),
      ],
      widths,
    );
  });
  return [head, ...lines, ...notes].join('\n');
}

const wilsonOf = (k: number, n: number): Rate => ({ k, n, rate: n ? k / n : 0, lower: 0, upper: 1 });

export function driftTable(figures: readonly ScenarioFigures[]): string {
  const widths = [44, 7, 14, 20, 10];
  const head = row(['drift', 'seeds', 'detected', 'hours med/p90', 'target'], widths);
  const lines = figures.map((f) => {
    const p = f.product[0] as WatcherFigures;
    const target = f.scenario.targetMedianMinutes;
    return row(
      [
        f.scenario.label,
        String(p.fired.n),
        short(p.power),
        medP90(p.minutes, 1, 60),
        target === undefined ? '—' : `≤ ${target / 60} h`,
      ],
      widths,
    );
  });
  return [head, ...lines].join('\n');
}
