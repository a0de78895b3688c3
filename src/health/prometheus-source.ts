// Prometheus as a signal source: closed steps read with query_range per flag and arm, stored through the one ingestion path.
import type { Clock } from '../clock.ts';
import type { SqlDb } from '../db/sql.ts';
import type { Logger } from '../log.ts';
import type { Plan } from '../plans/schema.ts';
import {
  type PrometheusMeasure,
  type PrometheusPlan,
  prometheusPlan,
  segmentFieldOf,
} from '../plans/signal-source.ts';
import type { PrometheusClient, Series } from './prometheus-client.ts';
import { latencyRecord, renderTemplate } from './promql.ts';
import { type IntervalRecord, intervalRecordSchema, isSegment } from './signal-schema.ts';

export interface PolledFlag {
  plan: Plan;
  state: { startedAt: number | null };
}

export interface PrometheusSourceOptions {
  /** Width of one read interval; whole minutes by default, so each value fills one minute bucket. */
  stepMs: number;
  /** How long after a step ends before it is read: scrape interval plus rule evaluation lag. */
  delayMs: number;
  /** Control history read before a rollout's start, as for pushed signals (tail thresholds, baselines). */
  historyMs: number;
}

/** Prometheus answers at most 11,000 points per series; a longer gap is caught up from its most recent part. */
export const maxStepsPerRead = 10_000;

export type PrometheusSource = ReturnType<typeof createPrometheusSource>;

export function createPrometheusSource(
  deps: {
    db: SqlDb;
    /** Undefined when ROLLGATE_PROMETHEUS_URL is not set: Prometheus-sourced flags hold, saying so. */
    client: PrometheusClient | undefined;
    signals: { ingest(records: IntervalRecord[]): { accepted: number } };
    flags: () => readonly PolledFlag[];
    clock: Clock;
    log: Logger;
  } & PrometheusSourceOptions,
) {
  const { db, client, clock, log, stepMs } = deps;
  const readCursor = db.prepare<[string], { read_until: number }>(
    "SELECT read_until FROM source_cursors WHERE flag = ? AND source = 'prometheus'",
  );
  const writeCursor = db.prepare<[string, number]>(
    `INSERT INTO source_cursors (flag, source, read_until) VALUES (?, 'prometheus', ?)
     ON CONFLICT (flag, source) DO UPDATE SET read_until = excluded.read_until`,
  );
  // Signals and the cursor in one transaction: a read is stored exactly once, even across a crash.
  const commit = db.transaction((flag: string, records: IntervalRecord[], until: number) => {
    if (records.length) deps.signals.ingest(records);
    writeCursor.run(flag, until);
  });
  const problems = new Map<string, string>();

  const setProblem = (flag: string, problem: string) => {
    if (problems.get(flag) !== problem) log.warn('prometheus signals missing', { flag, problem });
    problems.set(flag, problem);
  };

  const armsOf = (plan: Plan) =>
    plan.variants?.length ? ['control', ...plan.variants.map((v) => v.name)] : ['treatment', 'control'];

  async function pollFlag(flag: PolledFlag, lastEnd: number): Promise<void> {
    const name = flag.plan.name;
    const pp = prometheusPlan(flag.plan) as PrometheusPlan;
    if (!client) return setProblem(name, 'prometheus: ROLLGATE_PROMETHEUS_URL is not set');
    const cursor = readCursor.get(name)?.read_until;
    const rolloutStart = flag.state.startedAt ?? lastEnd;
    const earliest = lastEnd - (maxStepsPerRead - 1) * stepMs;
    const wanted = cursor === undefined ? alignUp(rolloutStart - deps.historyMs, stepMs) : cursor + stepMs;
    const firstEnd = Math.max(wanted, earliest);
    if (firstEnd > lastEnd) return;

    const jobs: Array<{ arm: string; measure: PrometheusMeasure; template: string }> = [];
    for (const arm of armsOf(flag.plan)) {
      for (const [measure, template] of Object.entries(pp.templates) as Array<[PrometheusMeasure, string]>)
        jobs.push({ arm, measure, template });
    }
    const results = await Promise.all(
      jobs.map(async (j) => {
        const query = renderTemplate(j.template, { flag: name, arm: j.arm, stepMs });
        return {
          ...j,
          result: await client.queryRange(query, firstEnd / 1000, lastEnd / 1000, stepMs / 1000),
        };
      }),
    );
    const byArm = new Map<string, Partial<Record<PrometheusMeasure, Series[]>>>();
    for (const r of results) {
      if (!r.result.ok)
        return setProblem(name, `prometheus: ${r.measure} query for ${r.arm} failed: ${r.result.error}`);
      if (!r.result.series.length)
        return setProblem(
          name,
          `prometheus: ${r.measure} query for ${r.arm} returned no data since ${new Date(firstEnd - stepMs).toISOString()}`,
        );
      byArm.set(r.arm, { ...byArm.get(r.arm), [r.measure]: r.result.series });
    }
    const records: IntervalRecord[] = [];
    const field = segmentFieldOf(flag.plan);
    for (const [arm, series] of byArm) {
      for (const [segment, part] of bySegment(series, field)) {
        for (const raw of recordsOf(name, arm, part, pp.latencyUnit, stepMs, segment)) {
          const parsed = intervalRecordSchema.safeParse(raw);
          if (parsed.success) records.push(parsed.data);
        }
      }
    }
    commit(name, records, lastEnd);
    if (problems.delete(name)) log.info('prometheus signals back', { flag: name });
  }

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | null = null;
  let stopped = true;

  const source = {
    /** Why a flag's Prometheus signals are missing right now, for the hold reason; undefined when they are not. */
    problemFor: (flag: string) => problems.get(flag),
    /** Polls on its own timer (async HTTP, off the request path) until stopped; a poll in flight is awaited. */
    start() {
      if (!stopped) return;
      stopped = false;
      const loop = () => {
        if (stopped) return;
        running = source.poll().finally(() => {
          running = null;
          if (!stopped) timer = setTimeout(loop, Math.min(stepMs, 15_000));
        });
      };
      loop();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      if (running) await running;
    },
    /** Reads every closed step of every Prometheus-sourced flag; never throws. */
    async poll(): Promise<void> {
      const lastEnd = Math.floor((clock() - deps.delayMs) / stepMs) * stepMs;
      const flags = deps.flags().filter((f) => prometheusPlan(f.plan));
      for (const name of problems.keys()) if (!flags.some((f) => f.plan.name === name)) problems.delete(name);
      for (const flag of flags) {
        try {
          await pollFlag(flag, lastEnd);
        } catch (err) {
          setProblem(flag.plan.name, `prometheus: ${(err as Error).message}`);
        }
      }
    },
  };
  return source;
}

const alignUp = (t: number, step: number) => Math.ceil(t / step) * step;

type Measures = Partial<Record<PrometheusMeasure, Series[]>>;

/**
 * An arm's series split by the label named like the plan's `by:` field (a query written `sum by (region)`):
 * one part per segment value, and series without the label (or with a value that is not a segment) as the
 * unsegmented part, so the whole population still counts them.
 */
function bySegment(series: Measures, field: string | undefined): Map<string | undefined, Measures> {
  if (field === undefined) return new Map([[undefined, series]]);
  const parts = new Map<string | undefined, Measures>();
  for (const [measure, list] of Object.entries(series) as Array<[PrometheusMeasure, Series[]]>) {
    for (const s of list) {
      const value = s.labels[field];
      const segment = value !== undefined && isSegment(value) ? value : undefined;
      const part = parts.get(segment) ?? {};
      part[measure] = [...(part[measure] ?? []), s];
      parts.set(segment, part);
    }
  }
  return parts;
}

/** One interval record per arm, segment and step: the value at T covers [T − step, T). */
function recordsOf(
  flag: string,
  arm: string,
  series: Measures,
  unit: 's' | 'ms',
  stepMs: number,
  segment: string | undefined,
): unknown[] {
  const sumAt = (list: Series[] | undefined) => {
    const out = new Map<number, number>();
    for (const s of list ?? [])
      for (const [t, v] of s.values) if (Number.isFinite(v)) out.set(t, (out.get(t) ?? 0) + v);
    return out;
  };
  const requests = sumAt(series.requests);
  const errors = sumAt(series.errors);
  const latencySum = series.latencySum ? sumAt(series.latencySum) : undefined;
  const times = new Set([
    ...requests.keys(),
    ...(series.latency ?? []).flatMap((s) => s.values.map(([t]) => t)),
  ]);
  const records: unknown[] = [];
  for (const t of [...times].sort((a, b) => a - b)) {
    const record: Record<string, unknown> = {
      flag,
      arm,
      ...(segment === undefined ? {} : { segment }),
      at: Math.round(t * 1000) - stepMs,
    };
    const n = requests.get(t);
    if (n !== undefined) {
      const total = Math.max(0, Math.round(n));
      record.requests = total;
      if (series.errors) record.errors = Math.min(total, Math.max(0, Math.round(errors.get(t) ?? 0)));
    }
    const latency = series.latency ? latencyRecord(series.latency, t, unit, latencySum?.get(t)) : undefined;
    if (latency) record.latencyMs = latency;
    if (record.requests !== undefined || record.latencyMs) records.push(record);
  }
  return records;
}
