// The one ingestion path for health signals: records (from POST /api/signals, Unleash metrics or replay) folded into stored buckets.
import type { Clock } from '../clock.ts';
import type { SqlDb } from '../db/sql.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { type ArmsOf, armProblem } from './arms.ts';
import { createIdempotencyStore, type IdempotencyKey } from './idempotency-store.ts';
import { defaultBoundFor, minLogLatencyMs, minuteOf, type SignalMetric } from './series.ts';
import {
  type IntervalRecord,
  intervalRecordSchema,
  type LatencyHistogram,
  type OutcomeRecord,
  type SignalRecord,
} from './signal-schema.ts';
import { type BatchWriter, createSignalStore, type SignalStore } from './signal-store.ts';
import { unleashMetricsToRecords } from './unleash-metrics.ts';

export interface SignalIngestDeps {
  db: SqlDb;
  clock: Clock;
  log: Logger;
  /** Share the store with readers; one is created on `db` otherwise. */
  store?: SignalStore;
  /** How long an idempotency key answers its first answer again (24 h by default). */
  idempotencyWindowMs?: number;
  /** The arms of served plans: SDK metrics for other flags or arms are skipped, never counted as treatment. */
  arms?: ArmsOf;
  /** Told of each impact-metric sample that names no flag and arm (counted in /metrics, not stored). */
  onUnattributedImpact?: (metric: string) => void;
  /** Told of SDK evaluations of flags no plan defines (flag → evaluations): the audit names such flags. */
  onUnplannedFlags?: (evaluations: ReadonlyMap<string, number>) => void;
}

export interface SdkMetricsOptions {
  /** Browser bundles are public: a frontend token may record exposures, never outcomes that decide a rollback. */
  exposuresOnly?: boolean;
  idempotency?: IdempotencyKey | undefined;
}

/** What an SDK metrics post stored, and what it skipped and why (at most this many listed). */
const maxListedRejections = 20;

export interface IngestOptions {
  /** A keyed batch is stored once: a repeat within the window gets the first answer and stores nothing. */
  idempotency?: IdempotencyKey | undefined;
}

export interface IngestAnswer {
  accepted: number;
  /** True when this was a repeat of a keyed batch already stored: nothing was stored now. */
  replayed: boolean;
}

export type SignalIngest = ReturnType<typeof createSignalIngest>;

export function createSignalIngest(deps: SignalIngestDeps) {
  const { clock, log } = deps;
  const store = deps.store ?? createSignalStore(deps.db);
  const keys = createIdempotencyStore(deps.db);
  const windowMs = deps.idempotencyWindowMs ?? 24 * 3_600_000;

  /**
   * Stores a validated batch in one transaction, committed before it returns. With an idempotency key, the key
   * and its answer are written in that same transaction, so a retry after kill -9 finds exactly what was stored.
   */
  function ingest(records: readonly SignalRecord[], opts: IngestOptions = {}): IngestAnswer {
    const now = clock();
    const outcomes = createOutcomeSums(now);
    const key = opts.idempotency;
    return store.writeBatch((w) => {
      if (key) {
        const prior = keys.find(key, now - windowMs);
        if (prior && prior.bodyHash !== key.bodyHash)
          throw new AppError(
            'UNPROCESSABLE',
            'this Idempotency-Key was first used for a different batch; send new data under a new key',
            { idempotencyKey: key.key.slice(0, 200) },
          );
        if (prior) return { ...(prior.body as { accepted: number }), replayed: true };
      }
      for (const r of records) {
        if ('ok' in r) outcomes.add(r);
        else writeInterval(w, r);
      }
      outcomes.flush(w);
      const answer = { accepted: records.length };
      if (key) keys.put(key, 200, answer, now);
      return { ...answer, replayed: false };
    });
  }

  /**
   * SDK metrics as signals. Tolerant, because a 400 makes an SDK stop sending: a record for a flag or arm that has
   * no plan, or with a number past the per-record limits, is skipped and listed in the answer, never stored.
   */
  function ingestUnleashMetrics(
    payload: unknown,
    source: { appName?: string; instanceId?: string },
    opts: SdkMetricsOptions = {},
  ) {
    const rejected: Array<{ flag: string; arm: string; reason: string }> = [];
    let skipped = 0;
    const valid: IntervalRecord[] = [];
    const unplanned = new Map<string, number>();
    for (const raw of unleashMetricsToRecords(payload, clock(), deps.onUnattributedImpact)) {
      const record = opts.exposuresOnly ? exposuresOf(raw) : raw;
      if (!record) continue;
      const parsed = intervalRecordSchema.safeParse(record);
      const problem = parsed.success
        ? deps.arms && armProblem(record, 0, deps.arms)
        : { reason: `${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}` };
      if (!problem && parsed.success) {
        valid.push(parsed.data);
        continue;
      }
      skipped++;
      if (problem && 'path' in problem && problem.path === 'flag')
        unplanned.set(record.flag, (unplanned.get(record.flag) ?? 0) + (record.exposures ?? 0));
      if (rejected.length < maxListedRejections)
        rejected.push({ flag: record.flag, arm: record.arm, reason: problem?.reason ?? 'rejected' });
    }
    if (skipped) log.debug('sdk metrics records skipped', { ...source, skipped, first: rejected[0] });
    if (unplanned.size) deps.onUnplannedFlags?.(unplanned);
    const answer = ingest(valid, { idempotency: opts.idempotency });
    return { accepted: answer.accepted, skipped, rejected, replayed: answer.replayed };
  }

  return {
    ingest,
    ingestUnleashMetrics,
    store,
    /** Drops idempotency keys past their window. */
    pruneKeys: (now: number) => keys.prune(now - windowMs),
  };
}

/** Only the exposure count of an SDK record; undefined when it has none. */
function exposuresOf(r: IntervalRecord): IntervalRecord | undefined {
  return r.exposures === undefined
    ? undefined
    : { flag: r.flag, arm: r.arm, at: r.at, exposures: r.exposures };
}

/** An interval record goes straight to its buckets: the upsert accumulates repeats. */
function writeInterval(w: BatchWriter, r: IntervalRecord): void {
  const start = minuteOf(r.at);
  const seg = r.segment;
  if (r.requests !== undefined || r.errors !== undefined) {
    const errors = r.errors ?? 0;
    w.bucket(r.flag, start, 'errors', r.arm, r.requests ?? 0, errors, errors, seg);
  }
  if (r.latencyMs) writeLatency(w, r, start, r.latencyMs);
  const units = r.units ?? r.requests ?? 0;
  if (r.conversions !== undefined)
    w.bucket(r.flag, start, 'conversions', r.arm, units, r.conversions, null, seg);
  if (r.revenue !== undefined)
    w.bucket(r.flag, start, 'revenue', r.arm, units, r.revenue, r.revenueSquares ?? null, seg);
  if (r.exposures !== undefined) w.bucket(r.flag, start, 'exposures', r.arm, r.exposures, 0, 0, seg);
}

/** The histogram as per-bucket counts, and log latency estimated with each bucket at its geometric midpoint. */
function writeLatency(w: BatchWriter, r: IntervalRecord, start: number, h: LatencyHistogram): void {
  const seg = r.segment;
  w.bucket(r.flag, start, 'latency', r.arm, h.count, h.sum, h.sumSquares ?? null, seg);
  if (!h.buckets?.some((b) => b.le !== '+Inf')) return;
  let below = 0;
  let lower = 0;
  let logSum = 0;
  let logSumsq = 0;
  let finiteSum = 0;
  for (const b of h.buckets) {
    if (b.le === '+Inf') break;
    const n = b.count - below;
    w.histogram(r.flag, start, r.arm, b.le, n, seg);
    const mid = lower > 0 ? Math.sqrt(lower * b.le) : b.le / 2;
    const ln = Math.log(Math.max(mid, minLogLatencyMs));
    logSum += n * ln;
    logSumsq += n * ln * ln;
    finiteSum += n * mid;
    below = b.count;
    lower = b.le;
  }
  const overflow = h.count - below;
  if (overflow > 0) {
    w.histogram(r.flag, start, r.arm, Number.POSITIVE_INFINITY, overflow, seg);
    // The overflow's mean is what the sum leaves over, and at least the last bound.
    const ln = Math.log(Math.max(lower, (h.sum - finiteSum) / overflow, minLogLatencyMs));
    logSum += overflow * ln;
    logSumsq += overflow * ln * ln;
  }
  w.bucket(r.flag, start, 'log-latency', r.arm, h.count, logSum, logSumsq, seg);
}

interface Sum {
  flag: string;
  arm: string;
  segment: string | undefined;
  start: number;
  count: number;
  sum: number;
  sumsq: number;
}

interface UnitGroup {
  flag: string;
  arm: string;
  segment: string | undefined;
  start: number;
  /** Conversions and revenue per unit id; records without an id are units of their own. */
  units: Map<string, { conversions: number; revenue: number }>;
  anonymous: Array<{ conversions: number; revenue: number }>;
  hasConversions: boolean;
  hasRevenue: boolean;
}

/**
 * Per-request outcomes repeat their (flag, arm, minute) a lot, so they are summed in memory first and written
 * once per bucket. Units are the distinct users (or sessions) of one batch and minute: a sender batching per
 * minute counts them exactly.
 */
/** Outcomes are summed per flag, arm and segment: a segmented one lands in its segment's buckets too. */
const keyOf = (r: OutcomeRecord) => `${r.flag}\u0000${r.arm}\u0000${r.segment ?? ''}`;

function createOutcomeSums(now: number) {
  const sums = new Map<string, Sum & { metric: SignalMetric }>();
  const histograms = new Map<
    string,
    { flag: string; arm: string; segment: string | undefined; start: number; le: number; count: number }
  >();
  const groups = new Map<string, UnitGroup>();

  const add = (r: OutcomeRecord, start: number, metric: SignalMetric, value: number) => {
    const key = `${keyOf(r)}\u0000${metric}\u0000${start}`;
    const s = sums.get(key);
    if (s) {
      s.count += 1;
      s.sum += value;
      s.sumsq += value * value;
    } else
      sums.set(key, {
        flag: r.flag,
        arm: r.arm,
        segment: r.segment,
        start,
        metric,
        count: 1,
        sum: value,
        sumsq: value * value,
      });
  };

  function addLatency(r: OutcomeRecord, start: number, ms: number) {
    add(r, start, 'latency', ms);
    add(r, start, 'log-latency', Math.log(Math.max(ms, minLogLatencyMs)));
    const le = defaultBoundFor(ms);
    const key = `${keyOf(r)}\u0000${start}\u0000${le}`;
    const h = histograms.get(key);
    if (h) h.count += 1;
    else histograms.set(key, { flag: r.flag, arm: r.arm, segment: r.segment, start, le, count: 1 });
  }

  function addUnit(r: OutcomeRecord, start: number) {
    const key = `${keyOf(r)}\u0000${start}`;
    let g = groups.get(key);
    if (!g) {
      g = {
        flag: r.flag,
        arm: r.arm,
        segment: r.segment,
        start,
        units: new Map(),
        anonymous: [],
        hasConversions: false,
        hasRevenue: false,
      };
      groups.set(key, g);
    }
    const conversions = r.conversion === undefined ? 0 : Number(r.conversion);
    const revenue = r.revenue ?? 0;
    g.hasConversions ||= r.conversion !== undefined;
    g.hasRevenue ||= r.revenue !== undefined;
    const id =
      r.userId !== undefined ? `u:${r.userId}` : r.sessionId !== undefined ? `s:${r.sessionId}` : null;
    const unit = id === null ? undefined : g.units.get(id);
    if (unit) {
      unit.conversions += conversions;
      unit.revenue += revenue;
    } else if (id === null) g.anonymous.push({ conversions, revenue });
    else g.units.set(id, { conversions, revenue });
  }

  function flushUnits(w: BatchWriter, g: UnitGroup) {
    if (!g.hasConversions && !g.hasRevenue) return;
    const all = [...g.units.values(), ...g.anonymous];
    let conv = 0;
    let convSq = 0;
    let rev = 0;
    let revSq = 0;
    for (const u of all) {
      conv += u.conversions;
      convSq += u.conversions * u.conversions;
      rev += u.revenue;
      revSq += u.revenue * u.revenue;
    }
    if (g.hasConversions)
      w.bucket(g.flag, g.start, 'conversions', g.arm, all.length, conv, convSq, g.segment);
    if (g.hasRevenue) w.bucket(g.flag, g.start, 'revenue', g.arm, all.length, rev, revSq, g.segment);
  }

  return {
    add(r: OutcomeRecord) {
      const start = minuteOf(r.at ?? now);
      add(r, start, 'errors', r.ok ? 0 : 1);
      if (r.latencyMs !== undefined) addLatency(r, start, r.latencyMs);
      addUnit(r, start);
    },
    flush(w: BatchWriter) {
      for (const s of sums.values())
        w.bucket(s.flag, s.start, s.metric, s.arm, s.count, s.sum, s.sumsq, s.segment);
      for (const h of histograms.values()) w.histogram(h.flag, h.start, h.arm, h.le, h.count, h.segment);
      for (const g of groups.values()) flushUnits(w, g);
    },
  };
}
