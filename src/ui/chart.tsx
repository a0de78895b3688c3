// Server-rendered SVG line charts: no script, no dependency, readable offline; a caption states the latest values.
import type { Level, Line, Point } from './trajectory.ts';

const width = 640;
const height = 200;
const pad = { left: 52, right: 12, top: 10, bottom: 24 };
/** Enough points for a smooth line at this width; more only grows the page. */
const maxPoints = 480;

const clock = (t: number) => new Date(t).toISOString().slice(11, 16);

function thin(points: Point[]): Point[] {
  if (points.length <= maxPoints) return points;
  const step = points.length / maxPoints;
  const out: Point[] = [];
  for (let k = 0; k < maxPoints; k++) out.push(points[Math.floor(k * step)] as Point);
  out.push(points.at(-1) as Point);
  return out;
}

/** Treatment and control keep their colours on every chart; a test's lines get colours of their own. */
const seriesClass = (label: string, k: number) =>
  label === 'treatment' || label === 'control' ? `series-${label}` : `series-stat-${k}`;

const tick = (v: number) =>
  Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toPrecision(2);

export function LineChart(props: { title: string; unit: string; lines: Line[]; levels: Level[] }) {
  const lines = props.lines.map((l) => ({ ...l, points: thin(l.points) }));
  const all = lines.flatMap((l) => l.points);
  const total = lines.reduce((n, l) => n + l.points.length, 0);
  if (total === 0)
    return (
      <figure class="chart empty">
        <figcaption>
          <strong>{props.title}</strong>
          <span>no signals in this rollout yet</span>
        </figcaption>
      </figure>
    );
  const t0 = Math.min(...all.map((p) => p[0]));
  const t1 = Math.max(...all.map((p) => p[0]), t0 + 60_000);
  const values = [...all.map((p) => p[1]), ...props.levels.map((l) => l.value)];
  const lo = Math.min(0, ...values);
  const hi = Math.max(...values, lo + 1e-9) * 1.08;
  const x = (t: number) => pad.left + ((t - t0) / (t1 - t0)) * (width - pad.left - pad.right);
  const y = (v: number) => pad.top + (1 - (v - lo) / (hi - lo)) * (height - pad.top - pad.bottom);
  const unit = props.unit ? ` ${props.unit}` : '';
  const latest = lines
    .filter((l) => l.points.length)
    .map((l) => `${l.label} ${tick((l.points.at(-1) as Point)[1])}${unit}`)
    .join(', ');
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${props.title}: ${latest}`}>
        <line class="axis" x1={pad.left} y1={y(lo)} x2={width - pad.right} y2={y(lo)} />
        <line class="axis" x1={pad.left} y1={pad.top} x2={pad.left} y2={height - pad.bottom} />
        <text class="tick" x={pad.left - 4} y={pad.top + 8} text-anchor="end">
          {tick(hi)}
        </text>
        <text class="tick" x={pad.left - 4} y={y(lo)} text-anchor="end">
          {tick(lo)}
        </text>
        <text class="tick" x={pad.left} y={height - 6}>
          {clock(t0)}
        </text>
        <text class="tick" x={width - pad.right} y={height - 6} text-anchor="end">
          {clock(t1)} UTC
        </text>
        {props.levels.map((l, k) => (
          <g class={`level level-${k}`} data-level={l.label}>
            <line x1={pad.left} y1={y(l.value)} x2={width - pad.right} y2={y(l.value)} />
            <text class="tick" x={width - pad.right - 2} y={y(l.value) - 3} text-anchor="end">
              {l.label}
            </text>
          </g>
        ))}
        {lines.map((l, k) => (
          <polyline
            class={`series ${seriesClass(l.label, k)}`}
            data-series={l.label}
            data-points={String(l.points.length)}
            points={l.points.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' ')}
          />
        ))}
      </svg>
      <figcaption>
        <strong>{props.title}</strong>
        <span class="legend">
          {lines.map((l, k) => (
            <span class={`key ${seriesClass(l.label, k)}`}>{l.label}</span>
          ))}
        </span>
        <span class="latest">latest: {latest}</span>
      </figcaption>
    </figure>
  );
}
