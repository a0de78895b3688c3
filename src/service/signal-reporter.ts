// Buffers outcomes per flag, arm, segment and interval in memory and posts closed intervals to POST /api/signals.
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import {
  addOutcome,
  emptyAggregate,
  type IntervalAggregate,
  type Outcome,
  toSignalRecord,
} from './signal-aggregate.ts';

export interface ReporterOptions {
  /** Width of one aggregated interval; Rollgate stores by the minute, so a divisor of 60 s keeps units exact. */
  intervalMs: number;
  /** How often closed intervals are sent. */
  flushMs: number;
  /** Aggregates kept while Rollgate is unreachable; outcomes for new ones beyond this are dropped and counted. */
  maxPending: number;
  /** Per-unit revenue cap, the plan's guardrail `cap` (revenue per exposed user). */
  revenueCap: number;
  /** Longest wait between retries after failed posts. */
  maxBackoffMs: number;
  timeoutMs: number;
  /**
   * Distinct segments per flag and interval; outcomes in further ones are sent without a segment (they still
   * count in the whole population), so a caller naming a new region on every request cannot multiply aggregates.
   */
  maxSegments: number;
}

export const defaultReporterOptions: ReporterOptions = {
  intervalMs: 10_000,
  flushMs: 5_000,
  maxPending: 5_000,
  revenueCap: 200,
  maxBackoffMs: 60_000,
  timeoutMs: 5_000,
  maxSegments: 20,
};

export interface ReporterTarget {
  url: string;
  token: string;
}

export type SignalReporter = ReturnType<typeof createSignalReporter>;

export function createSignalReporter(deps: {
  clock: Clock;
  log: Logger;
  options?: Partial<ReporterOptions>;
}) {
  const { clock, log } = deps;
  const options = { ...defaultReporterOptions, ...deps.options };
  const pending = new Map<string, IntervalAggregate>();
  let target: ReporterTarget | undefined;
  let timer: NodeJS.Timeout | undefined;
  let sending: Promise<void> | undefined;
  let failures = 0;
  let retryAt = 0;
  const counts = { sent: 0, dropped: 0, rejected: 0, failedPosts: 0, unsegmented: 0 };
  /** Segments seen per flag and interval start, for maxSegments; forgotten with the interval's aggregates. */
  const segmentsOf = new Map<string, Set<string>>();
  let lastError: string | null = null;

  const keyOf = (flag: string, arm: string, segment: string | undefined, start: number) =>
    `${flag}\u0000${arm}\u0000${segment ?? ''}\u0000${start}`;

  /** The outcome's segment, or none once its flag has maxSegments others in this interval. */
  const segmentIn = (flag: string, segment: string | undefined, start: number) => {
    if (segment === undefined) return undefined;
    const at = `${flag}\u0000${start}`;
    let seen = segmentsOf.get(at);
    if (!seen) {
      seen = new Set();
      segmentsOf.set(at, seen);
    }
    if (seen.has(segment)) return segment;
    if (seen.size >= options.maxSegments) {
      counts.unsegmented += 1;
      return undefined;
    }
    seen.add(segment);
    return segment;
  };

  /** Never blocks and never throws: a request's outcome is one map update. */
  function record(outcome: Outcome): void {
    const start = Math.floor(clock() / options.intervalMs) * options.intervalMs;
    const segment = segmentIn(outcome.flag, outcome.segment, start);
    const key = keyOf(outcome.flag, outcome.arm, segment, start);
    let agg = pending.get(key);
    if (!agg) {
      if (pending.size >= options.maxPending) {
        counts.dropped += 1;
        return;
      }
      agg = emptyAggregate(outcome.flag, outcome.arm, start, segment);
      pending.set(key, agg);
    }
    addOutcome(agg, outcome);
  }

  /**
   * A batch whose post failed is sent again as it was, with the same Idempotency-Key, before anything new: if the
   * first post was committed and only its answer was lost, Rollgate answers it again and stores nothing twice.
   */
  let unacknowledged: { key: string; body: string; records: number } | undefined;

  async function post(batch: { key: string; body: string; records: number }, to: ReporterTarget) {
    let res: Response;
    try {
      res = await fetch(to.url, {
        method: 'POST',
        headers: {
          authorization: to.token,
          'content-type': 'application/json',
          'idempotency-key': batch.key,
        },
        body: batch.body,
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (err) {
      return fail(batch, (err as Error).message);
    }
    const text = await res.text().catch(() => '');
    if (res.ok) {
      counts.sent += batch.records;
      unacknowledged = undefined;
      failures = 0;
      lastError = null;
      return;
    }
    // Rate limits and server trouble pass; any other refusal would be refused again, so the batch is dropped.
    if (res.status === 429 || res.status >= 500)
      return fail(batch, `HTTP ${res.status} ${text.slice(0, 200)}`);
    unacknowledged = undefined;
    counts.rejected += batch.records;
    lastError = `HTTP ${res.status} ${text.slice(0, 200)}`;
    log.error('signals rejected by Rollgate; batch dropped', {
      status: res.status,
      body: text.slice(0, 500),
    });
  }

  function fail(batch: { key: string; body: string; records: number }, message: string) {
    unacknowledged = batch;
    counts.failedPosts += 1;
    failures += 1;
    lastError = message;
    const wait = Math.min(options.maxBackoffMs, options.flushMs * 2 ** (failures - 1));
    retryAt = Date.now() + wait;
    log.warn('posting signals failed; will retry', { err: message, retryInMs: wait, pending: pending.size });
  }

  /** Sends the unacknowledged batch again, else closed intervals (all of them when `all`); one post at a time. */
  function flush(all = false): Promise<void> {
    if (sending) return sending.then(() => (all ? flush(true) : undefined));
    const to = target;
    if (!to) return Promise.resolve();
    let batch = unacknowledged;
    if (!batch) {
      const openFrom = Math.floor(clock() / options.intervalMs) * options.intervalMs;
      const records = [];
      for (const [key, a] of pending) {
        if (!all && a.start >= openFrom) continue;
        records.push(toSignalRecord(a, options.revenueCap));
        pending.delete(key);
      }
      for (const at of segmentsOf.keys()) {
        const start = Number(at.slice(at.lastIndexOf('\u0000') + 1));
        if (all || start < openFrom) segmentsOf.delete(at);
      }
      if (!records.length) return Promise.resolve();
      batch = { key: randomUUID(), body: JSON.stringify({ records }), records: records.length };
    }
    const retrying = batch === unacknowledged;
    sending = post(batch, to).finally(() => {
      sending = undefined;
    });
    // After a successful retry, what accumulated meanwhile goes out in the same flush.
    return retrying ? sending.then(() => (unacknowledged ? undefined : flush(all))) : sending;
  }

  return {
    record,
    flush,
    start(to: ReporterTarget) {
      target = to;
      clearInterval(timer);
      // Backoff is measured on the wall clock: the injected clock may be a simulation's.
      timer = setInterval(() => {
        if (Date.now() >= retryAt) void flush();
      }, options.flushMs);
      timer.unref();
    },
    /** Sends everything buffered, open intervals included, once; what still fails is reported as lost. */
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await flush(true);
      if (pending.size || unacknowledged)
        log.warn('signals not delivered at shutdown', {
          aggregates: pending.size,
          unacknowledgedRecords: unacknowledged?.records ?? 0,
          lastError,
        });
    },
    stats() {
      return {
        pending: pending.size,
        unacknowledged: unacknowledged?.records ?? 0,
        ...counts,
        consecutiveFailures: failures,
        lastError,
      };
    },
  };
}
