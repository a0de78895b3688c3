import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.ts';
import { parseSignalBatch } from '../../src/health/signal-schema.ts';
import { silentLogger } from '../../src/log.ts';
import { latencyBoundsMs } from '../../src/service/signal-aggregate.ts';
import { createSignalReporter } from '../../src/service/signal-reporter.ts';

/** A stand-in for Rollgate's signal intake that answers with the given statuses in turn, then 202. */
async function intake(statuses: number[] = []) {
  const batches: unknown[] = [];
  const tokens: Array<string | undefined> = [];
  const posts: Array<{ key: string | undefined; body: string }> = [];
  const app = new Hono();
  app.post('/api/signals', async (c) => {
    const text = await c.req.text();
    const body = JSON.parse(text);
    tokens.push(c.req.header('authorization'));
    posts.push({ key: c.req.header('idempotency-key'), body: text });
    const status = statuses.shift() ?? 202;
    if (status === 202) {
      const parsed = parseSignalBatch(body, Date.now());
      if (!parsed.ok) return c.json({ error: parsed }, 400);
      batches.push(body);
    }
    return c.json({}, status as 202);
  });
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
  });
  servers.push(server);
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/signals`;
  const records = () => batches.flatMap((b) => (b as { records: Array<Record<string, unknown>> }).records);
  return { url, batches, tokens, posts, records };
}

const servers: Array<ReturnType<typeof serve>> = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

const start = Date.parse('2026-11-02T10:00:00Z');

function reporter(options = {}) {
  const clock = manualClock(start);
  const r = createSignalReporter({
    clock,
    log: silentLogger,
    options: { intervalMs: 10_000, flushMs: 3_600_000, ...options },
  });
  return { clock, r };
}

describe('signal reporter', () => {
  it('sends one record per flag, arm and closed interval, in the format POST /api/signals accepts', async () => {
    const sink = await intake();
    const { clock, r } = reporter();
    r.start({ url: sink.url, token: 'ingest-token-0123456789' });
    r.record({ flag: 'queue.async-tasks', arm: 'treatment', unit: 'u1', request: true, latencyMs: 40 });
    r.record({
      flag: 'queue.async-tasks',
      arm: 'treatment',
      unit: 'u2',
      request: true,
      error: true,
      latencyMs: 120,
    });
    r.record({ flag: 'queue.async-tasks', arm: 'control', unit: 'u3', request: true, latencyMs: 3 });
    r.record({ flag: 'queue.async-tasks', arm: 'treatment', unit: 'u1', request: true, latencyMs: 20_000 });
    clock.advance(10_000);
    r.record({ flag: 'queue.async-tasks', arm: 'treatment', unit: 'u4', request: true, latencyMs: 5 });
    await r.flush();
    expect(sink.tokens).toEqual(['ingest-token-0123456789']);
    const records = sink.records();
    expect(records.map((x) => [x.arm, x.at, x.requests, x.errors])).toEqual([
      ['treatment', '2026-11-02T10:00:00.000Z', 3, 1],
      ['control', '2026-11-02T10:00:00.000Z', 1, 0],
    ]);
    const latency = records[0]?.latencyMs as {
      count: number;
      sum: number;
      buckets: Array<{ le: unknown; count: number }>;
    };
    expect(latency).toMatchObject({ count: 3, sum: 20_160, sumSquares: 40 ** 2 + 120 ** 2 + 20_000 ** 2 });
    // Cumulative: the bucket holding 40 ms has one observation, the one holding 120 ms two.
    const boundFor = (ms: number) => latencyBoundsMs.find((le) => ms <= le);
    expect(latency.buckets.find((b) => b.le === boundFor(40))?.count).toBe(1);
    expect(latency.buckets.find((b) => b.le === boundFor(120))?.count).toBe(2);
    expect(latency.buckets.at(-1)).toEqual({ le: '+Inf', count: 3 });
    expect(r.stats()).toMatchObject({ pending: 1, sent: 2 });
    await r.stop();
    expect(sink.records()).toHaveLength(3);
    expect(r.stats().pending).toBe(0);
  });

  it('reports exposed users as units and caps each user revenue before summing it and its squares', async () => {
    const sink = await intake();
    const { r } = reporter({ revenueCap: 50 });
    r.start({ url: sink.url, token: 't' });
    for (const user of ['a', 'b', 'c', 'a'])
      r.record({ flag: 'pricing.dynamic-offers', arm: 'price-21', unit: user, request: true, exposed: true });
    for (let i = 0; i < 3; i++)
      r.record({ flag: 'pricing.dynamic-offers', arm: 'price-21', unit: 'a', conversion: true, revenue: 21 });
    r.record({ flag: 'pricing.dynamic-offers', arm: 'price-21', unit: 'b', conversion: true, revenue: 21 });
    await r.stop();
    expect(sink.records()).toEqual([
      {
        flag: 'pricing.dynamic-offers',
        arm: 'price-21',
        at: '2026-11-02T10:00:00.000Z',
        requests: 4,
        errors: 0,
        units: 3,
        conversions: 4,
        revenue: 50 + 21,
        revenueSquares: 50 ** 2 + 21 ** 2,
      },
    ]);
  });

  it('keeps a batch Rollgate could not take and sends it with the next flush', async () => {
    const sink = await intake([503]);
    const { clock, r } = reporter();
    r.start({ url: sink.url, token: 't' });
    r.record({ flag: 'schema.ai-model', arm: 'control', unit: 'acme', request: true });
    clock.advance(10_000);
    await r.flush();
    expect(r.stats()).toMatchObject({ unacknowledged: 1, sent: 0, failedPosts: 1, consecutiveFailures: 1 });
    r.record({ flag: 'schema.ai-model', arm: 'control', unit: 'acme', request: true, error: true });
    clock.advance(10_000);
    await r.flush();
    expect(sink.records().map((x) => [x.at, x.requests, x.errors])).toEqual([
      ['2026-11-02T10:00:00.000Z', 1, 0],
      ['2026-11-02T10:00:10.000Z', 1, 1],
    ]);
    expect(r.stats()).toMatchObject({ pending: 0, sent: 2, consecutiveFailures: 0, lastError: null });
    // The failed batch went again exactly as it was, under its key, so a post that was committed before its
    // answer was lost is answered again instead of counted twice; the new interval has a key of its own.
    const [failed, retried, next] = sink.posts;
    expect(retried).toEqual(failed);
    expect(failed?.key).toMatch(/^[0-9a-f-]{36}$/);
    expect(next?.key).not.toBe(failed?.key);
  });

  it('drops a batch Rollgate refuses as invalid instead of retrying it forever', async () => {
    const sink = await intake([400]);
    const { r } = reporter();
    r.start({ url: sink.url, token: 't' });
    r.record({ flag: 'schema.ai-model', arm: 'control', request: true });
    await r.flush(true);
    expect(r.stats()).toMatchObject({ pending: 0, sent: 0, rejected: 1 });
    expect(r.stats().lastError).toMatch(/HTTP 400/);
  });

  it('buffers a bounded number of aggregates while Rollgate is unreachable and counts what it drops', async () => {
    const { clock, r } = reporter({ maxPending: 2, timeoutMs: 500 });
    r.start({ url: 'http://127.0.0.1:9/api/signals', token: 't' });
    for (let i = 0; i < 4; i++) {
      r.record({ flag: 'schema.ai-model', arm: 'control', request: true });
      clock.advance(10_000);
    }
    r.record({ flag: 'schema.ai-model', arm: 'control', request: true });
    await r.flush();
    expect(r.stats()).toMatchObject({ pending: 0, unacknowledged: 2, dropped: 3, failedPosts: 1 });
    expect(r.stats().lastError).not.toBeNull();
  });

  it('records without a target and without blocking, and sends nothing until started', async () => {
    const { r } = reporter();
    r.record({ flag: 'schema.ai-model', arm: 'treatment', request: true });
    await r.flush(true);
    expect(r.stats()).toMatchObject({ pending: 1, sent: 0 });
  });
});

describe('signal reporter segments', () => {
  it('sends one record per flag, arm, segment and interval, unsegmented outcomes apart, each outcome once', async () => {
    const sink = await intake();
    const { clock, r } = reporter();
    r.start({ url: sink.url, token: 't' });
    const flag = 'queue.async-tasks';
    for (const [segment, error] of [
      ['eu', true],
      ['eu', false],
      ['us', false],
      [undefined, false],
    ] as const)
      r.record({ flag, arm: 'treatment', segment, unit: 'u', request: true, error });
    r.record({ flag, arm: 'control', segment: 'eu', unit: 'u', request: true });
    clock.advance(10_000);
    await r.flush();
    expect(sink.records().map((x) => [x.arm, x.segment ?? null, x.requests, x.errors])).toEqual([
      ['treatment', 'eu', 2, 1],
      ['treatment', 'us', 1, 0],
      ['treatment', null, 1, 0],
      ['control', 'eu', 1, 0],
    ]);
    // Rollgate adds segmented records to the whole population: no outcome is sent both with and without one.
    expect(sink.records().reduce((n, x) => n + Number(x.requests), 0)).toBe(5);
  });

  it('sends outcomes beyond maxSegments per flag and interval without a segment, and counts them', async () => {
    const sink = await intake();
    const { clock, r } = reporter({ maxSegments: 2 });
    r.start({ url: sink.url, token: 't' });
    for (const segment of ['eu', 'us', 'ap', 'sa', 'eu'])
      r.record({ flag: 'queue.async-tasks', arm: 'treatment', segment, unit: 'u', request: true });
    clock.advance(10_000);
    // A new interval starts counting afresh.
    r.record({ flag: 'queue.async-tasks', arm: 'treatment', segment: 'ap', unit: 'u', request: true });
    clock.advance(10_000);
    await r.flush();
    expect(sink.records().map((x) => [x.at, x.segment ?? null, x.requests])).toEqual([
      ['2026-11-02T10:00:00.000Z', 'eu', 2],
      ['2026-11-02T10:00:00.000Z', 'us', 1],
      ['2026-11-02T10:00:00.000Z', null, 2],
      ['2026-11-02T10:00:10.000Z', 'ap', 1],
    ]);
    expect(r.stats().unsegmented).toBe(2);
  });

  it('resends a failed segmented batch byte for byte under its key; what came meanwhile goes in the next batch', async () => {
    const sink = await intake([503]);
    const { clock, r } = reporter();
    r.start({ url: sink.url, token: 't' });
    r.record({ flag: 'queue.async-tasks', arm: 'treatment', segment: 'eu', unit: 'u', request: true });
    r.record({ flag: 'queue.async-tasks', arm: 'treatment', segment: 'us', unit: 'u', request: true });
    clock.advance(10_000);
    await r.flush();
    expect(r.stats()).toMatchObject({ unacknowledged: 2, failedPosts: 1 });
    // More for eu in the same (now closed) interval's region, in a later interval: not folded into the retry.
    r.record({ flag: 'queue.async-tasks', arm: 'treatment', segment: 'eu', unit: 'u', request: true });
    clock.advance(10_000);
    await r.flush();
    const [first, retry, next] = sink.posts;
    expect(retry).toEqual(first);
    expect(next?.key).not.toBe(first?.key);
    expect(JSON.parse(next?.body ?? '{}').records).toEqual([
      {
        flag: 'queue.async-tasks',
        arm: 'treatment',
        at: '2026-11-02T10:00:10.000Z',
        segment: 'eu',
        requests: 1,
        errors: 0,
      },
    ]);
    expect(r.stats()).toMatchObject({ sent: 3, unacknowledged: 0 });
  });
});
