// Evidence that is retried, hostile or sent with the wrong token never counts: idempotency keys, limits, arms.
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.ts';
import { buildRollgate, fixturePlansDir, makeFlagsDir, testTokens } from '../helpers/rollgate.ts';

const t0 = Date.parse('2026-11-02T10:00:00Z');
const open: Array<{ stop(): Promise<void> }> = [];
afterEach(async () => {
  for (const rg of open.splice(0)) await rg.stop();
});

function setup() {
  const clock = manualClock(t0);
  const t = buildRollgate({
    flagsDir: makeFlagsDir([path.join(fixturePlansDir, 'checkout.new-flow.yaml')]),
    clock,
  });
  open.push(t.rg);
  const sum = (metric: string) =>
    t.rg.db
      .prepare<[string], { n: number; s: number }>(
        'SELECT COALESCE(SUM(count), 0) AS n, COALESCE(SUM(sum), 0) AS s FROM signal_buckets WHERE metric = ?',
      )
      .get(metric);
  const post = (body: unknown, headers: Record<string, string> = {}, token = testTokens.ingest) =>
    t.call('POST', '/api/signals', { token, body, headers });
  return { ...t, sum, post };
}

const rec = (extra: Record<string, unknown> = {}) => ({
  flag: 'checkout.new-flow',
  arm: 'treatment',
  at: '2026-11-02T10:00:00Z',
  requests: 10,
  errors: 1,
  ...extra,
});

describe('idempotent signal batches', () => {
  it('answers a repeat with the first answer and stores nothing again', async () => {
    const { post, sum } = setup();
    const key = { 'idempotency-key': 'batch-0001' };
    const first = await post({ records: [rec(), rec({ arm: 'control' })] }, key);
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ accepted: 2 });
    const again = await post({ records: [rec(), rec({ arm: 'control' })] }, key);
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.json()).toEqual({ accepted: 2 });
    expect(sum('errors')).toEqual({ n: 20, s: 2 });
    // Without a key every post counts: the sender chose not to be deduplicated.
    await post({ records: [rec()] });
    expect(sum('errors')).toEqual({ n: 30, s: 3 });
  });

  it('refuses a key reused for another batch (422) and keys that are empty or too long (400), storing nothing', async () => {
    const { post, sum } = setup();
    await post({ records: [rec()] }, { 'idempotency-key': 'k1' });
    const reused = await post({ records: [rec({ errors: 9 })] }, { 'idempotency-key': 'k1' });
    expect(reused.status).toBe(422);
    expect((await reused.json()).error.message).toMatch(/different batch/);
    const long = await post({ records: [rec()] }, { 'idempotency-key': 'x'.repeat(201) });
    expect(long.status).toBe(400);
    expect((await long.json()).error.details.issues[0].path).toBe('Idempotency-Key');
    expect(sum('errors')).toEqual({ n: 10, s: 1 });
  });

  it('keeps keys per sender: the same key from another token is another batch', async () => {
    const { post, sum } = setup();
    await post({ records: [rec()] }, { 'idempotency-key': 'k1' });
    await post({ records: [rec()] }, { 'idempotency-key': 'k1' }, testTokens.client);
    expect(sum('errors')).toEqual({ n: 20, s: 2 });
  });

  it('answers again after the window only what is still within it', async () => {
    const { post, sum, clock } = setup();
    await post({ records: [rec()] }, { 'idempotency-key': 'k1' });
    clock.advance(25 * 3_600_000);
    const late = await post({ records: [rec({ at: clock() })] }, { 'idempotency-key': 'k1' });
    expect(late.headers.get('idempotent-replayed')).toBeNull();
    expect(sum('errors')).toEqual({ n: 20, s: 2 });
  });
});

describe('numbers stay finite', () => {
  it('refuses revenue of 1e308 (twice would be Infinity) and counts beyond 2^53, naming the record and field', async () => {
    const { post, sum } = setup();
    const big = await post({
      records: [rec(), rec({ units: 5, revenue: 1e308 }), rec({ units: 5, revenue: 1e308 })],
    });
    expect(big.status).toBe(400);
    expect((await big.json()).error).toMatchObject({ details: { index: 1, path: 'revenue' } });
    const huge = await post({ records: [rec({ requests: 2 ** 53 + 2, errors: 0 })] });
    expect(huge.status).toBe(400);
    expect((await huge.json()).error.details).toMatchObject({ index: 0, path: 'requests' });
    expect(sum('errors')).toEqual({ n: 0, s: 0 });
    expect(sum('revenue')).toEqual({ n: 0, s: 0 });
  });
});

describe('SDK metrics cannot write what their token may not', () => {
  const metrics = (toggles: Record<string, unknown>, impactMetrics: unknown[] = []) => ({
    appName: 'web',
    instanceId: 'i-1',
    bucket: { start: '2026-11-02T10:00:00Z', stop: '2026-11-02T10:01:00Z', toggles },
    impactMetrics,
  });
  const errorsCounter = (arm: string, value: number) => [
    {
      name: 'rollgate_requests_total',
      type: 'counter',
      samples: [{ labels: { flag: 'checkout.new-flow', arm }, value }],
    },
    {
      name: 'rollgate_errors_total',
      type: 'counter',
      samples: [{ labels: { flag: 'checkout.new-flow', arm }, value }],
    },
  ];

  it('lets a frontend token record exposures, never errors, latency or outcomes', async () => {
    const { call, sum } = setup();
    const res = await call('POST', '/api/frontend/client/metrics', {
      token: testTokens.frontend,
      body: metrics({ 'checkout.new-flow': { yes: 7, no: 3, variants: {} } }, errorsCounter('control', 500)),
    });
    expect(res.status).toBe(202);
    expect(sum('exposures')).toEqual({ n: 10, s: 0 });
    expect(sum('errors')).toEqual({ n: 0, s: 0 });
  });

  it('skips arms a flag does not have ("Control") and flags without a plan instead of counting them as treatment', async () => {
    const { call, sum } = setup();
    const res = await call('POST', '/api/client/metrics', {
      token: testTokens.client,
      body: metrics(
        {
          'checkout.new-flow': { yes: 4, no: 6, variants: {} },
          'no.such-flag': { yes: 1, no: 0, variants: {} },
        },
        [...errorsCounter('Control', 50), ...errorsCounter('treatment', 2)],
      ),
    });
    expect(res.status).toBe(202);
    const body = await res.json();
    expect(body.skipped).toBe(2);
    expect(body.rejected).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ flag: 'checkout.new-flow', arm: 'Control' }),
        expect.objectContaining({ flag: 'no.such-flag', arm: 'treatment' }),
      ]),
    );
    expect(sum('errors')).toEqual({ n: 2, s: 2 });
    expect(sum('exposures')).toEqual({ n: 10, s: 0 });
  });
});
