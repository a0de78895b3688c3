// The power audit: for each stage of a plan, seeded traffic through the product's own ingest, assess and reconcile,
// to learn whether each guardrail would catch the change it guards against before the stage promotes.
import { fileURLToPath } from 'node:url';
import { manualClock } from '../clock.ts';
import { migrate } from '../db/migrate.ts';
import { openDb } from '../db/open.ts';
import { assess } from '../health/assess.ts';
import { defaultRelative, guardrailName } from '../health/assess-guardrail.ts';
import { normalCdf } from '../health/detectors/distributions.ts';
import { createSignalIngest } from '../health/ingest.ts';
import { maxSegmentsOf } from '../health/segments.ts';
import { defaultLatencyBoundsMs, minuteMs, otherSegment, type SegmentSeries } from '../health/series.ts';
import type { IntervalRecord } from '../health/signal-schema.ts';
import { silentLogger } from '../log.ts';
import { formatDuration, parseDuration } from '../plans/duration.ts';
import type { Guardrail, Plan } from '../plans/schema.ts';
import { createRng, type Rng } from '../prng.ts';
import { percentOf } from '../rollout/explain.ts';
import { reconcile } from '../rollout/reconcile.ts';
import { type FlagState, initialState } from '../rollout/state.ts';
import type { AuditCheck } from './check.ts';

const migrationsDir = fileURLToPath(new URL('../db/migrations', import.meta.url));

/** What control looks like before any change: measured from stored control signals where there are any. */
export interface Baseline {
  errorRate: number;
  /** ln ms of control's latencies: mean and standard deviation. */
  latencyMu: number;
  latencySigma: number;
  conversionRate: number;
  /** Revenue per purchase, lognormal before the plan's cap. */
  revenueMu: number;
  revenueSigma: number;
  /** Where these came from: 'stored control signals' or 'defaults'. */
  source: string;
}

/**
 * Used where a flag has no stored control signals (each figure separately: storedBaseline replaces those it can
 * measure). A typical request-serving service; the detection benchmark simulates the same one, so the two sets
 * of detection times compare:
 * - errors: 0.5 % of requests fail;
 * - latency: lognormal, median 100 ms (ln ms mean ln 100), σ = 0.5 in ln ms (p95 about 230 ms);
 * - conversions: 5 % of exposed users purchase;
 * - revenue: per purchase lognormal, median 30, σ = 0.8 (mean about 41), before the plan's cap.
 */
export const defaultBaseline: Baseline = {
  errorRate: 0.005,
  latencyMu: Math.log(100),
  latencySigma: 0.5,
  conversionRate: 0.05,
  revenueMu: Math.log(30),
  revenueSigma: 0.8,
  source: 'defaults',
};

export interface PowerOptions {
  /** Seeds per stage and guardrail; the medians are over these. */
  seeds?: number;
  /** Control history before each simulated stage, in minutes (thresholds and baselines are fixed from it). */
  historyMinutes?: number;
  /** The longest a stage is simulated, in minutes. */
  maxMinutes?: number;
  /** Wall time for one plan's simulations; stages not reached by then are warnings saying so. */
  budgetMs?: number;
}

export const powerDefaults = { seeds: 3, historyMinutes: 60, maxMinutes: 7 * 1440, budgetMs: 30_000 };

/** A flag's stored segment values (of its plan's `by:` field) and each one's share of control's requests. */
export interface StoredSegments {
  /** In order of arrival, as stored: the first maxSegments of them get tests of their own. */
  values: Array<{ value: string; share: number }>;
  /** Where the shares come from, e.g. 'stored control traffic (last 60 min)'. */
  source: string;
}

/** Fewer control requests than this carrying a segment in the recent window, and the split is not used. */
export const minSegmentRequests = 1000;

/**
 * Each stored segment value's share of control's requests over `segments` (the recent window): the split a
 * `by:` guardrail's traffic has. `wholeControl`: control's requests over the same window, with or without a
 * segment (records without one count for the whole population only). Null when too little is stored.
 */
export function storedSegments(
  segments: SegmentSeries,
  wholeControl: number,
  source: string,
): StoredSegments | null {
  const requests = new Map<string, number>();
  let total = 0;
  for (const p of segments.points) {
    if (p.metric !== 'errors' || p.arm !== 'control') continue;
    requests.set(p.segment, (requests.get(p.segment) ?? 0) + p.count);
    total += p.count;
  }
  if (total < minSegmentRequests) return null;
  const denominator = Math.max(total, wholeControl);
  const values = segments.values
    .filter((v) => v !== otherSegment)
    .map((value) => ({ value, share: (requests.get(value) ?? 0) / denominator }));
  return { values, source };
}

/** One simulated segment: its value, its share of the flag's requests, how its treatment behaves. */
interface SimSegment {
  value: string;
  share: number;
  treatment: ArmParams;
}

/** The segment a `by:` guardrail's change is put in, and the others with a test of their own. */
interface SegmentSplit {
  field: string;
  /** The values with a test of their own, with their shares. */
  own: Array<{ value: string; share: number }>;
  /** Where the change goes: the smallest of them (every one is claimed to be watched). */
  target: { value: string; share: number };
  /** How the split was found, for the report. */
  source: string;
}

/**
 * How a `by:` guardrail's traffic splits: over the stored values with a test of their own where control
 * traffic carrying segments is stored, else equally over its maxSegments (values named segment-1, segment-2…).
 */
function segmentSplit(g: Guardrail, stored: StoredSegments | undefined): SegmentSplit | null {
  if (g.by === undefined) return null;
  const max = maxSegmentsOf(g);
  const own = stored?.values.slice(0, max).filter((v) => v.share > 0) ?? [];
  if (stored && own.length) {
    const target = own.reduce((a, b) => (b.share < a.share ? b : a));
    return {
      field: g.by,
      own,
      target,
      source: `${stored.source}: the smallest of ${own.length} stored value(s) with a test of their own`,
    };
  }
  const equal = Array.from({ length: max }, (_, k) => ({ value: `segment-${k + 1}`, share: 1 / max }));
  return {
    field: g.by,
    own: equal,
    target: equal[0] as { value: string; share: number },
    source: `no segment traffic stored: an equal split over maxSegments ${max}`,
  };
}

/**
 * How far past its limit an absolute guardrail is pushed to count as the change it guards against: the limit
 * exceeded by half (a 2 % SLO seen at 3 %).
 */
export const limitBreach = 0.5;

/** Scales of the guarded change tried when looking for the smallest one caught before promotion. */
const scales = [0.25, 0.5, 1, 2, 4, 8, 16];

/** How one arm behaves in one simulated minute. */
interface ArmParams {
  errorRate: number;
  latencyShift: number;
  conversionRate: number;
  revenueFactor: number;
}

const healthyArm = (b: Baseline): ArmParams => ({
  errorRate: b.errorRate,
  latencyShift: 0,
  conversionRate: b.conversionRate,
  revenueFactor: 1,
});

/** The guarded change, as a relative figure: what `relative` (or the default) says, or the limit breach. */
export function targetRelative(g: Guardrail): number {
  if (g.max !== undefined || g.min !== undefined) return limitBreach;
  // A latency tail is judged by the count test, tuned like errors: the default is a doubling of the slow share.
  const kind = g.metric === 'latency' && g.quantile !== undefined ? 'errors' : g.metric;
  return g.relative ?? defaultRelative[kind as keyof typeof defaultRelative] ?? 0.1;
}

/** The treatment arm when guardrail `g` sees its guarded change at `scale` times its size (1: the target). */
export function changedArm(g: Guardrail, scale: number, b: Baseline): ArmParams | string {
  const arm = healthyArm(b);
  const d = scale * targetRelative(g);
  const higher = g.worse === 'higher';
  const limit = g.max ?? g.min;
  const toward = (base: number) => (higher ? base * (1 + d) : base / (1 + d));
  switch (g.metric) {
    case 'errors':
    case 'conversions': {
      // Errors are counted as bad events (their share grows); conversions are a mean (it moves by d).
      const rate =
        limit !== undefined
          ? toward(limit)
          : g.metric === 'errors'
            ? badShare(b.errorRate, d, higher)
            : b.conversionRate * (higher ? 1 + d : Math.max(0, 1 - d));
      return g.metric === 'errors' ? { ...arm, errorRate: rate } : { ...arm, conversionRate: rate };
    }
    case 'revenue':
      if (limit !== undefined) return 'an absolute limit on revenue is not tested (use relative)';
      return { ...arm, revenueFactor: higher ? 1 + d : Math.max(0, 1 - d) };
    case 'latency': {
      if (g.quantile === undefined && g.max === undefined)
        return { ...arm, latencyShift: Math.log(higher ? 1 + d : Math.max(0.01, 1 - d)) };
      const q = g.quantile ?? 0.5;
      const zq = normalQuantile(q);
      if (g.max !== undefined) {
        // The q-quantile moved to the limit exceeded by d.
        const target = Math.log(g.max * (1 + d));
        return { ...arm, latencyShift: target - b.latencyMu - b.latencySigma * zq };
      }
      // The share beyond control's q-quantile grows (1 + d)-fold: the ratio the tail count test is tuned to.
      const beyond = Math.min(0.99, (1 - q) * (1 + d));
      const shift = b.latencySigma * (zq - normalQuantile(1 - beyond));
      return { ...arm, latencyShift: higher ? shift : -shift };
    }
    default:
      return `unknown metric "${g.metric}"`;
  }
}

/** A rate whose bad share (the events when higher is worse, the non-events when lower is) grows by 1 + d. */
function badShare(p: number, d: number, higher: boolean): number {
  const bad = Math.min(1, (higher ? p : 1 - p) * (1 + d));
  return higher ? bad : 1 - bad;
}

/** Φ⁻¹ by bisection on the normal CDF (the audit needs a few, not speed). */
function normalQuantile(p: number): number {
  let lo = -10;
  let hi = 10;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (normalCdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Which signals these guardrails read: only those are generated (requests always, the unit of exposure). */
function neededSignals(guardrails: readonly Guardrail[]) {
  const metrics = new Set(guardrails.map((g) => g.metric));
  return {
    latency: metrics.has('latency'),
    conversions: metrics.has('conversions') || metrics.has('revenue'),
    revenue: metrics.has('revenue'),
  };
}

/** Bounds of the generated histograms: the product's default bounds around control's distribution. */
function boundsFor(b: Baseline, shift: number): number[] {
  const lo = Math.exp(b.latencyMu + Math.min(0, shift) - 4 * b.latencySigma);
  const hi = Math.exp(b.latencyMu + Math.max(0, shift) + 5 * b.latencySigma);
  return defaultLatencyBoundsMs.filter((le) => le >= lo && le <= hi);
}

/** One arm's minute as a service would report it to POST /api/signals. */
function armRecord(
  rng: Rng,
  flag: string,
  arm: string,
  at: number,
  expected: number,
  p: ArmParams,
  b: Baseline,
  need: ReturnType<typeof neededSignals>,
  cap: number,
): IntervalRecord {
  const requests = rng.poisson(expected);
  const record: IntervalRecord = {
    flag,
    arm,
    at,
    requests,
    errors: rng.binomial(requests, p.errorRate),
  };
  if (need.latency && requests > 0) {
    const bounds = boundsFor(b, p.latencyShift);
    const mu = b.latencyMu + p.latencyShift;
    let left = requests;
    let below = 0;
    let cumulative = 0;
    let sum = 0;
    let lower = 0;
    const buckets: Array<{ le: number | '+Inf'; count: number }> = [];
    for (const le of bounds) {
      const cdf = normalCdf((Math.log(le) - mu) / b.latencySigma);
      const share = 1 - below >= 1e-12 ? Math.min(1, (cdf - below) / (1 - below)) : 1;
      const n = left > 0 ? rng.binomial(left, Math.max(0, share)) : 0;
      left -= n;
      below = cdf;
      cumulative += n;
      sum += n * (lower > 0 ? Math.sqrt(lower * le) : le / 2);
      lower = le;
      buckets.push({ le, count: cumulative });
    }
    sum += left * (bounds.at(-1) ?? 1) * 1.2;
    buckets.push({ le: '+Inf', count: requests });
    record.latencyMs = { count: requests, sum, buckets };
  }
  if (need.conversions) {
    const conversions = rng.binomial(requests, p.conversionRate);
    record.units = requests;
    record.conversions = conversions;
    if (need.revenue) {
      const r = revenueOf(rng, conversions, b, cap, p.revenueFactor);
      record.revenue = r.sum;
      record.revenueSquares = r.sumSq;
    }
  }
  return record;
}

/** E[min(X, cap)^j] for lognormal X, by quadrature over the normal density (j = 1..4). */
function cappedMoments(b: Baseline, cap: number): [number, number, number, number] {
  const m: [number, number, number, number] = [0, 0, 0, 0];
  const steps = 2000;
  for (let i = 0; i < steps; i++) {
    const z = -8 + (16 * (i + 0.5)) / steps;
    const w = (Math.exp((-z * z) / 2) / Math.sqrt(2 * Math.PI)) * (16 / steps);
    const y = Math.min(cap, Math.exp(b.revenueMu + b.revenueSigma * z));
    for (let j = 0; j < 4; j++) m[j] = (m[j] as number) + w * y ** (j + 1);
  }
  return m;
}

const momentCache = new Map<string, [number, number, number, number]>();

/**
 * Capped revenue of k purchases: exact draws for few, for many a bivariate normal with the exact first four
 * moments (the sums of y and y² are all the mean test reads), so large traffic stays cheap.
 */
function revenueOf(rng: Rng, k: number, b: Baseline, cap: number, factor: number) {
  if (k < 200) {
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < k; i++) {
      const y = Math.min(cap, Math.exp(b.revenueMu + b.revenueSigma * rng.normal())) * factor;
      sum += y;
      sumSq += y * y;
    }
    return { sum, sumSq };
  }
  const key = `${b.revenueMu}/${b.revenueSigma}/${cap}`;
  let moments = momentCache.get(key);
  if (!moments) {
    moments = cappedMoments(b, cap);
    momentCache.set(key, moments);
  }
  const [m1, m2, m3, m4] = moments;
  const l11 = Math.sqrt(k * (m2 - m1 * m1));
  const l21 = (k * (m3 - m1 * m2)) / l11;
  const l22 = Math.sqrt(Math.max(0, k * (m4 - m2 * m2) - l21 * l21));
  const z1 = rng.normal();
  const z2 = rng.normal();
  const sum = k * m1 + l11 * z1;
  const sumSq = Math.max(k * m2 + l21 * z1 + l22 * z2, (sum * sum) / k);
  return { sum: sum * factor, sumSq: sumSq * factor * factor };
}

interface StageRun {
  plan: Plan;
  stage: number;
  percent: number;
  /** Requests per minute to the flag (both arms). */
  traffic: number;
  baseline: Baseline;
  treatment: ArmParams;
  minutes: number;
  seed: number;
  historyMinutes: number;
  /** The guardrails whose signals are generated; the others' verdicts are not read. */
  watched: readonly Guardrail[];
  /**
   * Traffic that carries a segment value of the plan's `by:` field, each with its own treatment; the rest of
   * the traffic carries none (it counts for the whole population only) and has `treatment`.
   */
  segments?: readonly SimSegment[];
}

const simulatedStart = Date.parse('2026-01-05T00:00:00Z');

/**
 * Simulates one stage from its start: control alone for the history, then the split, ingested through the
 * product's ingest into a scratch database and read back as the series assess folds.
 */
function simulate(run: StageRun) {
  const { plan, baseline } = run;
  const rng = createRng(run.seed, run.stage, Math.round(run.percent * 1000), Math.round(run.traffic));
  const need = neededSignals(run.watched);
  const cap = plan.rollout?.guardrails.find((g) => g.metric === 'revenue')?.cap ?? 200;
  const start = simulatedStart;
  const clock = manualClock(start + run.minutes * minuteMs);
  const db = openDb(':memory:');
  migrate(db, migrationsDir);
  const ingest = createSignalIngest({ db, clock, log: silentLogger });
  const control = healthyArm(baseline);
  const records: IntervalRecord[] = [];
  const segmented = run.segments ?? [];
  const rest = Math.max(0, 1 - segmented.reduce((sum, x) => sum + x.share, 0));
  const parts = [
    ...segmented.map((x) => ({
      segment: x.value as string | undefined,
      share: x.share,
      treatment: x.treatment,
    })),
    ...(rest > 1e-9 ? [{ segment: undefined, share: rest, treatment: run.treatment }] : []),
  ];
  for (let m = -run.historyMinutes; m < run.minutes; m++) {
    const at = start + m * minuteMs;
    const split = m < 0 ? 0 : run.percent / 100;
    for (const part of parts) {
      const traffic = run.traffic * part.share;
      const tag = (r: IntervalRecord) => (part.segment === undefined ? r : { ...r, segment: part.segment });
      records.push(
        tag(armRecord(rng, plan.name, 'control', at, traffic * (1 - split), control, baseline, need, cap)),
      );
      if (split > 0)
        records.push(
          tag(
            armRecord(rng, plan.name, 'treatment', at, traffic * split, part.treatment, baseline, need, cap),
          ),
        );
    }
  }
  ingest.ingest(records);
  const since = start - run.historyMinutes * minuteMs;
  const series = ingest.store.series(plan.name, since);
  if (segmented.length) series.segments = ingest.store.segmentSeries(plan.name, since);
  db.close();
  const state: FlagState = {
    ...initialState(plan, start),
    phase: 'progressing',
    stage: run.stage,
    stageStartedAt: start,
    startedAt: start,
  };
  const ctx = (now: number) => ({
    now,
    stageStartedAt: start,
    rolloutStartedAt: start,
    percent: run.percent,
    phase: 'progressing',
    historyMs: run.historyMinutes * minuteMs,
  });
  return {
    start,
    /** The verdict after `minute` minutes of the stage. */
    verdictAt: (minute: number) => assess(plan, series, ctx(start + minute * minuteMs)),
    /** Whether reconcile would promote (or complete) after `minute` minutes. */
    promotesAt(minute: number): boolean {
      const now = start + minute * minuteMs;
      const action = reconcile(plan, state, assess(plan, series, ctx(now)), now).decision.action;
      return action === 'promote' || action === 'complete';
    },
  };
}

/**
 * Minute of the first alarm of guardrail `index`, from its sticky alarm's interval: the whole population's
 * test or, for a `by:` guardrail, any of its segment tests, whichever alarmed first; null when none did.
 */
function alarmMinute(verdict: ReturnType<ReturnType<typeof simulate>['verdictAt']>, index: number) {
  let first: number | null = null;
  for (const g of verdict.guardrails) {
    if (g.index !== index || g.status !== 'regressed') continue;
    const alarm = (g.evidence as { alarm?: { interval?: number } }).alarm;
    if (typeof alarm?.interval === 'number' && (first === null || alarm.interval < first))
      first = alarm.interval;
  }
  return first;
}

/** First minute in [from, to] at which reconcile promotes; null when it never does (it holds throughout). */
function firstPromotion(sim: ReturnType<typeof simulate>, from: number, to: number): number | null {
  if (!sim.promotesAt(to)) return null;
  if (sim.promotesAt(from)) return from;
  let lo = from;
  let hi = to;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (sim.promotesAt(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** Median with "never" (null) counted as later than everything. */
function medianOrNever(xs: readonly (number | null)[]): number | null {
  const sorted = [...xs].sort((a, b) => (a ?? Infinity) - (b ?? Infinity));
  const mid = sorted[Math.floor((sorted.length - 1) / 2)];
  return mid ?? null;
}

/** "caught after 26m (median)" or "not caught within 2h (median)". */
const caughtText = (detection: number | null, horizon: number) =>
  detection === null
    ? `not caught within ${minutesText(horizon)} (median)`
    : `caught after ${minutesText(detection)} (median)`;

const minutesText = (m: number | null) => (m === null ? 'never' : formatDuration(m * minuteMs));

export interface PowerInput {
  plan: Plan;
  /** Requests per minute to the flag, or null when neither stored traffic nor --traffic gives one. */
  traffic: number | null;
  /** 'stored signals (last hour)' or '--traffic'. */
  trafficSource: string;
  baseline?: Baseline;
  /** The stored split over the plan's `by:` values (storedSegments); without it, an equal split is assumed. */
  segments?: StoredSegments;
}

/** The power checks of one plan: one per guardrail and stage, and one for its last (100 %) stage. */
export function powerChecks(input: PowerInput, options: PowerOptions = {}): AuditCheck[] {
  const { plan } = input;
  const rollout = plan.rollout;
  if (!rollout) return [];
  const o = { ...powerDefaults, ...options };
  const baseline = input.baseline ?? defaultBaseline;
  const checks: AuditCheck[] = [];
  const last = rollout.stages.length - 1;
  const label = (k: number) => `stage ${k + 1}/${rollout.stages.length} (${rollout.stages[k]?.percent}%)`;
  if (input.traffic === null || !(input.traffic > 0)) {
    return [
      {
        check: 'power',
        status: 'warn',
        subject: plan.name,
        summary: `${plan.name}: no recent traffic is stored and none was given, so whether its guardrails can see a regression before promotion is unknown`,
        numbers: { traffic: null },
        action: 'run the audit with --traffic N/min (the requests per minute the flag will see)',
      },
    ];
  }
  const traffic = input.traffic;
  const deadline = Date.now() + o.budgetMs;
  // A segment waiting for data holds the stage only under requireEachSegment: only then does the healthy run
  // need the split (every value with a test of its own, healthy); otherwise segment tests hold nothing.
  const holding = rollout.guardrails.find((g) => g.by !== undefined && g.requireEachSegment);
  const holdingSplit = holding ? segmentSplit(holding, input.segments) : null;
  const healthySegments = holdingSplit?.own.map((x) => ({ ...x, treatment: healthyArm(baseline) }));
  for (let k = 0; k < last; k++) {
    const stage = rollout.stages[k];
    if (!stage) continue;
    if (Date.now() > deadline) {
      checks.push({
        check: 'power',
        status: 'warn',
        subject: plan.name,
        summary: `${plan.name} ${label(k)}: power not computed, the audit's ${formatDuration(o.budgetMs)} budget for this plan ran out`,
        numbers: { stage: k + 1, percent: stage.percent, budgetMs: o.budgetMs },
        action: 'run the audit again when the server is less busy',
      });
      continue;
    }
    const bakeMinutes = Math.ceil((parseDuration(stage.bake ?? '0') ?? 0) / minuteMs);
    const treatmentPerMinute = (traffic * stage.percent) / 100;
    const exposureMinutes = Math.ceil((stage.minRequests ?? 0) / Math.max(treatmentPerMinute, 1e-9));
    const earliest = Math.max(1, bakeMinutes, exposureMinutes);
    // When the stage would promote with nothing wrong: bake, exposure and every guardrail's own holds; a stage
    // still holding is looked at again over a four times longer stretch, up to the longest simulated.
    let horizon = Math.min(o.maxMinutes, Math.max(2 * earliest, 120));
    let promotions: (number | null)[] = [];
    for (;;) {
      promotions = Array.from({ length: o.seeds }, (_, s) => {
        const sim = simulate({
          plan,
          stage: k,
          percent: stage.percent,
          traffic,
          baseline,
          treatment: healthyArm(baseline),
          minutes: horizon,
          seed: 1000 + s,
          historyMinutes: o.historyMinutes,
          watched: rollout.guardrails,
          ...(healthySegments ? { segments: healthySegments } : {}),
        });
        return firstPromotion(sim, Math.min(earliest, horizon), horizon);
      });
      if (medianOrNever(promotions) !== null || horizon >= o.maxMinutes) break;
      horizon = Math.min(o.maxMinutes, 4 * horizon);
    }
    const promotion = medianOrNever(promotions);
    rollout.guardrails.forEach((g, index) => {
      checks.push(
        guardrailPower({
          plan,
          g,
          index,
          k,
          label: label(k),
          percent: stage.percent,
          traffic,
          trafficSource: input.trafficSource,
          baseline,
          promotions,
          promotion,
          horizon,
          bakeMinutes,
          exposureMinutes,
          split: segmentSplit(g, input.segments),
          o,
        }),
      );
    });
    if (!rollout.guardrails.length) {
      const alerts = rollout.alerts.length;
      checks.push({
        check: 'power',
        status: alerts ? 'warn' : 'fail',
        subject: plan.name,
        summary: `${plan.name} ${label(k)}: no guardrail watches this stage, so it promotes after its bake whatever the change does${alerts ? `; only ${alerts} alert rule(s) can stop it` : ''}`,
        numbers: {
          stage: k + 1,
          percent: stage.percent,
          guardrails: 0,
          alerts,
          trafficPerMinute: traffic,
          trafficSource: input.trafficSource,
        },
        action: 'add guardrails (errors, latency) to the plan',
      });
    }
  }
  const holdback = rollout.holdback ?? 0;
  checks.push({
    check: 'power',
    status: holdback > 0 ? 'pass' : 'warn',
    subject: plan.name,
    summary:
      holdback > 0
        ? `${plan.name} ${label(last)}: completes on entry; ${percentOf(holdback)} stay on control, watched for drift`
        : `${plan.name} ${label(last)}: completes on entry with no holdback, so after 100 % nothing compares the change with the old path`,
    numbers: { stage: last + 1, percent: rollout.stages[last]?.percent ?? 100, holdback },
    action: holdback > 0 ? '' : 'keep a holdback (e.g. holdback: 2) so drift after completion can be seen',
  });
  return checks;
}

function guardrailPower(a: {
  plan: Plan;
  g: Guardrail;
  index: number;
  k: number;
  label: string;
  percent: number;
  traffic: number;
  trafficSource: string;
  baseline: Baseline;
  promotions: (number | null)[];
  promotion: number | null;
  horizon: number;
  bakeMinutes: number;
  exposureMinutes: number;
  /** For a `by:` guardrail: the split, and the segment the change is confined to. */
  split: SegmentSplit | null;
  o: typeof powerDefaults;
}): AuditCheck {
  const { plan, g, index, o, split } = a;
  const name = guardrailName(g);
  const where = split
    ? ` in ${split.field}=${split.target.value} only (${round(split.target.share * 100)} % of traffic; ${split.source})`
    : '';
  const head = `${plan.name} ${a.label} ${name}`;
  const target = targetRelative(g);
  const numbers: AuditCheck['numbers'] = {
    stage: a.k + 1,
    percent: a.percent,
    guardrail: name,
    trafficPerMinute: a.traffic,
    trafficSource: a.trafficSource,
    baseline: a.baseline.source,
    targetRelative: target,
    bakeMinutes: a.bakeMinutes,
    exposureMinutes: a.exposureMinutes,
    promotionMinutes: a.promotion,
    seeds: o.seeds,
    ...(split
      ? {
          segment: `${split.field}=${split.target.value}`,
          segmentShare: round(split.target.share),
          segmentSource: split.source,
        }
      : {}),
  };
  const probe = changedArm(g, 1, a.baseline);
  if (typeof probe === 'string')
    return {
      check: 'power',
      status: 'warn',
      subject: plan.name,
      summary: `${head}: power not computed: ${probe}`,
      numbers,
      action: 'fix the guardrail so the audit can simulate it',
    };
  const run = (scale: number, minutes: number, seed: number) => {
    const treatment = changedArm(g, scale, a.baseline) as ArmParams;
    // A `by:` guardrail's change is confined to one segment; the rest of the traffic is healthy and carries no
    // segment (the other segments' tests could only add false alarms, and their budget is fixed by the plan).
    const confined = split ? [{ ...split.target, treatment }] : undefined;
    const sim = simulate({
      plan,
      stage: a.k,
      percent: a.percent,
      traffic: a.traffic,
      baseline: a.baseline,
      treatment: confined ? healthyArm(a.baseline) : treatment,
      minutes,
      seed,
      historyMinutes: o.historyMinutes,
      watched: [g],
      ...(confined ? { segments: confined } : {}),
    });
    return alarmMinute(sim.verdictAt(minutes), index);
  };
  // Detection at the target: over a horizon past promotion, so a late catch still gets a time.
  const horizon = Math.min(o.maxMinutes, Math.max(a.horizon, 2 * (a.promotion ?? a.horizon)));
  const detections = Array.from({ length: o.seeds }, (_, s) => run(1, horizon, 2000 + s));
  const detection = medianOrNever(detections);
  numbers.detectionMinutes = detection;
  if (a.promotion === null) {
    return {
      check: 'power',
      status: 'warn',
      subject: plan.name,
      summary: `${head}: at ${a.traffic}/min the stage would not promote within ${minutesText(a.horizon)} even with nothing wrong (it keeps holding), so its power cannot be judged; the target change: ${caughtText(detection, horizon)}`,
      numbers,
      action: 'check the stage holds (exposure, a guardrail waiting for control) with rollgate status',
    };
  }
  const promotion = a.promotion;
  // Per seed: caught no later than that seed's own healthy promotion would have happened.
  const caught = detections.filter((d, s) => d !== null && d <= (a.promotions[s] ?? promotion)).length;
  numbers.caughtBeforePromotion = `${caught}/${o.seeds}`;
  const smallest = smallestCaught(
    (scale, seed) => run(scale, promotion, seed),
    o.seeds,
    promotion,
    detections.filter((d) => d !== null && d <= promotion).length,
  );
  numbers.smallestRelative = smallest === null ? null : round(smallest * target);
  const effect = `${describeChange(g, target)}${where}`;
  const smallestText =
    smallest === null
      ? `no change up to ${describeChange(g, 16 * target)} is caught within ${minutesText(promotion)}`
      : `the smallest change caught within ${minutesText(promotion)} is ${describeChange(g, smallest * target)}`;
  const status = caught === o.seeds ? 'pass' : 2 * caught > o.seeds ? 'warn' : 'fail';
  const verb =
    status === 'pass'
      ? 'is caught before the stage could promote'
      : status === 'warn'
        ? 'is caught before promotion in only some runs'
        : 'would be promoted before it is caught';
  return {
    check: 'power',
    status,
    subject: plan.name,
    summary: `${head}: at ${round(a.traffic)}/min (${percentOf(a.percent)} treatment) ${effect} ${verb}: ${caughtText(detection, horizon)}, promotion after ${minutesText(promotion)}; ${smallestText}`,
    numbers,
    action:
      status === 'pass'
        ? ''
        : detection === null
          ? `the change is not caught within ${minutesText(horizon)} at this stage: give it a higher percent or more traffic, or accept a larger relative change for this guardrail`
          : `lengthen the bake or raise minRequests of ${a.label} to at least ${minutesText(detection)} of traffic, or accept a larger relative change for this guardrail`,
  };
}

/**
 * The smallest scale of the guarded change caught within `minutes` in at least half the seeds, searched over
 * `scales` up or down from the target (whose catches are already known); null when none up to 16× is.
 */
function smallestCaught(
  detect: (scale: number, seed: number) => number | null,
  seeds: number,
  minutes: number,
  caughtAtTarget: number,
): number | null {
  // Stops as soon as the majority is decided either way.
  const caughtAt = (scale: number) => {
    const needed = Math.ceil(seeds / 2);
    let caught = 0;
    for (let s = 0; s < seeds; s++) {
      const d = detect(scale, 3000 + s);
      if (d !== null && d <= minutes) caught++;
      if (caught >= needed) return true;
      if (caught + (seeds - s - 1) < needed) return false;
    }
    return false;
  };
  const at = scales.indexOf(1);
  if (2 * caughtAtTarget >= seeds) {
    let best = 1;
    for (let i = at - 1; i >= 0; i--) {
      const scale = scales[i] as number;
      if (!caughtAt(scale)) break;
      best = scale;
    }
    return best;
  }
  for (let i = at + 1; i < scales.length; i++) {
    const scale = scales[i] as number;
    if (caughtAt(scale)) return scale;
  }
  return null;
}

/** "a 2× rise in errors", "a 5 % drop in conversions", "p95 latency beyond 1.5× the 300 ms limit". */
export function describeChange(g: Guardrail, relative: number): string {
  const limit = g.max ?? g.min;
  const pct = `${round(relative * 100)} %`;
  if (limit !== undefined)
    return `${g.metric} ${g.worse === 'higher' ? 'above' : 'below'} its limit ${limit} by ${pct}`;
  if (g.metric === 'errors') return `a ${round(1 + relative)}× rise in errors`;
  if (g.metric === 'latency' && g.quantile !== undefined)
    return `a ${round(1 + relative)}× rise in requests slower than control's p${g.quantile * 100}`;
  return `a ${pct} ${g.worse === 'higher' ? 'rise' : 'drop'} in ${g.metric === 'latency' ? 'latency' : g.metric}`;
}

const round = (x: number) => Math.round(x * 1000) / 1000;
