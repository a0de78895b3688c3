import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.ts';
import { createSignalIngest } from '../../src/health/ingest.ts';
import type { PrometheusClient, RangeResult } from '../../src/health/prometheus-client.ts';
import { createPrometheusSource } from '../../src/health/prometheus-source.ts';
import { silentLogger } from '../../src/log.ts';
import { planSchema } from '../../src/plans/schema.ts';
import { openSignalDb, signalDbFile } from '../helpers/signal-db.ts';

// How reads advance and survive a restart. The answers come from a scripted query_range peer so the steps are
// exact; the real Prometheus is exercised end to end in prometheus-source.test.ts.
const minute = 60_000;
const t0 = Date.parse('2026-11-02T10:00:00Z');

const plan = planSchema.parse({
  name: 'p.prom',
  description: 'd',
  owner: 'o',
  type: 'release',
  rollout: {
    stages: [{ percent: 10 }, { percent: 100 }],
    source: 'prometheus',
    prometheus: {
      requests: 'sum(increase(r{arm="$arm"}[$interval]))',
      errors: 'sum(increase(e{arm="$arm"}[$interval]))',
    },
    guardrails: [{ metric: 'errors', worse: 'higher' }],
  },
});

/** 100 requests and 1 error per arm and step, at every step asked for; or the failure it is told to give. */
function scriptedPrometheus() {
  const calls: Array<{ query: string; start: number; end: number }> = [];
  let failure: string | undefined;
  const client: PrometheusClient = {
    async queryRange(query, start, end, step): Promise<RangeResult> {
      calls.push({ query, start, end });
      if (failure) return { ok: false, error: failure };
      const values: Array<[number, number]> = [];
      for (let t = start; t <= end; t += step) values.push([t, query.startsWith('sum(increase(r') ? 100 : 1]);
      return { ok: true, series: [{ labels: {}, values }] };
    },
  };
  return { client, calls, fail: (why: string | undefined) => (failure = why) };
}

function source(file: string, clock: ReturnType<typeof manualClock>, client: PrometheusClient) {
  const db = openSignalDb(file);
  const signals = createSignalIngest({ db, clock, log: silentLogger });
  const src = createPrometheusSource({
    db,
    client,
    signals,
    flags: () => [{ plan, state: { startedAt: t0 } }],
    clock,
    log: silentLogger,
    stepMs: minute,
    delayMs: 30_000,
    historyMs: 0,
  });
  const requests = () =>
    db
      .prepare<[], { n: number }>(
        "SELECT COALESCE(SUM(count), 0) AS n FROM signal_buckets WHERE metric = 'errors'",
      )
      .get()?.n;
  return { src, db, requests };
}

describe('the Prometheus poller', () => {
  it('reads each closed step once, resumes after a restart without repeating one, and holds on failure', async () => {
    const file = signalDbFile();
    const clock = manualClock(t0 + 5 * minute + 40_000);
    const peer = scriptedPrometheus();
    const first = source(file, clock, peer.client);
    await first.src.poll();
    // Steps ending 10:00 … 10:05 are closed (10:05 + 30 s delay ≤ now): 6 steps × 2 arms × 100 requests.
    expect(first.requests()).toBe(1200);
    expect(peer.calls.map((c) => [c.start, c.end])[0]).toEqual([t0 / 1000, (t0 + 5 * minute) / 1000]);
    await first.src.poll();
    expect(first.requests()).toBe(1200);
    first.db.close();

    // A restart on the same file: the cursor was stored with the signals.
    clock.advance(2 * minute);
    const second = source(file, clock, peer.client);
    peer.calls.length = 0;
    await second.src.poll();
    expect(
      peer.calls.every((c) => c.start === (t0 + 6 * minute) / 1000 && c.end === (t0 + 7 * minute) / 1000),
    ).toBe(true);
    expect(second.requests()).toBe(1600);

    peer.fail('fetch failed (ECONNREFUSED)');
    clock.advance(3 * minute);
    await second.src.poll();
    expect(second.src.problemFor('p.prom')).toBe(
      'prometheus: requests query for treatment failed: fetch failed (ECONNREFUSED)',
    );
    expect(second.requests()).toBe(1600);

    peer.fail(undefined);
    await second.src.poll();
    expect(second.src.problemFor('p.prom')).toBeUndefined();
    // The three steps missed while it failed are read now, once.
    expect(second.requests()).toBe(2200);
    second.db.close();
  });

  it('holds a Prometheus-sourced flag when no Prometheus URL is configured', async () => {
    const clock = manualClock(t0 + 5 * minute);
    const db = openSignalDb();
    const src = createPrometheusSource({
      db,
      client: undefined,
      signals: createSignalIngest({ db, clock, log: silentLogger }),
      flags: () => [{ plan, state: { startedAt: t0 } }],
      clock,
      log: silentLogger,
      stepMs: minute,
      delayMs: 0,
      historyMs: 0,
    });
    await src.poll();
    expect(src.problemFor('p.prom')).toBe('prometheus: ROLLGATE_PROMETHEUS_URL is not set');
    db.close();
  });
});
