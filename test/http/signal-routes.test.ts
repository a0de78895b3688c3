import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.ts';
import { buildRollgate, fixturePlansDir, makeFlagsDir, tempDir, testTokens } from '../helpers/rollgate.ts';

const t0 = Date.parse('2026-11-02T10:00:00Z');
const open: Array<{ stop(): Promise<void> }> = [];
afterEach(async () => {
  for (const rg of open.splice(0)) await rg.stop();
});

function setup(dataDir = tempDir('rollgate-data-')) {
  const clock = manualClock(t0);
  const t = buildRollgate({
    flagsDir: makeFlagsDir([path.join(fixturePlansDir, 'checkout.new-flow.yaml')]),
    dataDir,
    clock,
  });
  open.push(t.rg);
  return { ...t, clock, dataDir };
}

interface HealthBody {
  series: { intervals: unknown[] };
  verdict: { guardrails: unknown[] };
}

const record = (minute: number, arm: string, requests: number, errors: number) => ({
  flag: 'checkout.new-flow',
  arm,
  at: new Date(t0 + minute * 60_000).toISOString(),
  requests,
  errors,
});

const stored = (rg: ReturnType<typeof setup>['rg']) =>
  rg.db.prepare<[], { n: number }>('SELECT COALESCE(SUM(count), 0) AS n FROM signal_buckets').get()?.n;

describe('POST /api/signals', () => {
  it('stores a batch with an ingest or client token and answers with the count once committed', async () => {
    const { call, rg } = setup();
    const batch = [record(0, 'treatment', 51, 1), record(0, 'control', 949, 5)];
    const res = await call('POST', '/api/signals', { token: testTokens.ingest, body: { records: batch } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ accepted: 2 });
    const bare = await call('POST', '/api/signals', { token: testTokens.client, body: batch });
    expect(await bare.json()).toEqual({ accepted: 2 });
    expect(stored(rg)).toBe(2000);
  });

  it('rejects the whole batch when record k is bad, naming k and the reason, and stores nothing', async () => {
    const { call, rg } = setup();
    const batch = [
      record(0, 'treatment', 51, 1),
      record(0, 'control', 949, 5),
      record(1, 'treatment', 10, 11),
    ];
    const res = await call('POST', '/api/signals', { token: testTokens.ingest, body: batch });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: {
        code: 'BAD_REQUEST',
        message: 'record 2, errors: exceeds requests (10); nothing was stored',
        details: { index: 2, path: 'errors', reason: 'exceeds requests (10)' },
      },
    });
    expect(stored(rg)).toBe(0);
  });

  it('rejects a flag without a plan and an arm the flag does not have, storing nothing', async () => {
    const { call, rg } = setup();
    const typo = await call('POST', '/api/signals', {
      token: testTokens.ingest,
      body: [record(0, 'treatment', 51, 1), record(0, 'Control', 949, 5)],
    });
    expect(typo.status).toBe(400);
    expect((await typo.json()).error.message).toBe(
      'record 1, arm: "Control" is not an arm of checkout.new-flow (treatment, control); nothing was stored',
    );
    const ghost = await call('POST', '/api/signals', {
      token: testTokens.ingest,
      body: [{ ...record(0, 'treatment', 1, 0), flag: 'ghost.flag' }],
    });
    expect((await ghost.json()).error.details).toEqual({
      index: 0,
      path: 'flag',
      reason: 'no flag named "ghost.flag"',
    });
    expect(stored(rg)).toBe(0);
  });

  it('refuses admin and frontend tokens and anonymous callers', async () => {
    const { call } = setup();
    const body = [record(0, 'treatment', 1, 0)];
    expect((await call('POST', '/api/signals', { token: testTokens.admin, body })).status).toBe(403);
    expect((await call('POST', '/api/signals', { token: testTokens.frontend, body })).status).toBe(403);
    expect((await call('POST', '/api/signals', { token: null, body })).status).toBe(401);
  });

  it('keeps accepted signals across a restart on the same data folder', async () => {
    const first = setup();
    await first.call('POST', '/api/signals', {
      token: testTokens.ingest,
      body: [record(0, 'treatment', 7, 2)],
    });
    await first.rg.stop();
    open.splice(open.indexOf(first.rg), 1);
    const second = setup(first.dataDir);
    expect(stored(second.rg)).toBe(7);
  });
});

describe('GET /api/admin/flags/:name/health', () => {
  it('returns the series per interval and arm and the verdict assessed now', async () => {
    const { call, clock } = setup();
    await call('POST', '/api/admin/flags/checkout.new-flow/rollout/start');
    const batch = [0, 1, 2].flatMap((m) => [record(m, 'treatment', 10, 0), record(m, 'control', 990, 5)]);
    await call('POST', '/api/signals', { token: testTokens.ingest, body: batch });
    clock.set(t0 + 3 * 60_000);

    const res = await call('GET', '/api/admin/flags/checkout.new-flow/health');
    expect(res.status).toBe(200);
    const body = (await res.json()) as HealthBody;
    expect(body).toMatchObject({ flag: 'checkout.new-flow', phase: 'progressing', percent: 1 });
    expect(body.series.intervals).toHaveLength(3);
    expect(body.series.intervals[0]).toEqual({
      start: '2026-11-02T10:00:00.000Z',
      widthMs: 60_000,
      arms: { control: { requests: 990, errors: 5 }, treatment: { requests: 10, errors: 0 } },
    });
    expect(body.verdict).toMatchObject({
      at: '2026-11-02T10:03:00.000Z',
      status: 'insufficient-data',
      stale: false,
      exposure: { treatmentRequests: 30, controlRequests: 2970, since: '2026-11-02T10:00:00.000Z' },
      srm: { status: 'ok' },
    });
    expect(body.verdict.guardrails[0]).toMatchObject({
      name: 'errors (relative)',
      status: 'insufficient-data',
    });

    const unknown = await call('GET', '/api/admin/flags/nope/health');
    expect(unknown.status).toBe(404);
  });
});
