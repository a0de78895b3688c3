// A regression in one region, hidden in a healthy total, rolls the flag back naming the region: real SQLite, the real app over HTTP.
import { afterEach, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/log.ts';
import { createRollgate } from '../../src/main.ts';
import { makeFlagsDir, testConfig, testTokens } from '../helpers/rollgate.ts';
import { binomial, seededRandom } from '../helpers/traffic.ts';

const minute = 60_000;
const plan = `name: checkout.new-flow
description: The new checkout flow
owner: payments
type: release
stickiness: userId
rollout:
  stages:
    - { percent: 50, bake: 2h }
    - { percent: 100 }
  guardrails:
    - { metric: errors, worse: higher, by: region, maxSegments: 4 }
`;

/** Requests per minute and region, half of them in treatment at 50 %; eu is the small one. */
const regions = { us: 4000, ap: 2000, eu: 300 } as const;

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

async function start() {
  const clock = manualClock(Date.parse('2026-03-02T09:00:00Z'));
  const config = testConfig({
    flagsDir: makeFlagsDir([], { 'c.yaml': plan }),
    env: { ROLLGATE_TICK_INTERVAL: '24h' },
  });
  const rg = createRollgate(config, { clock, log: silentLogger });
  const { url } = await rg.start();
  stops.push(() => rg.stop());
  const call = async (method: string, route: string, token: string, body?: unknown) => {
    const res = await fetch(`${url}${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: await res.json() };
  };
  return { rg, clock, call, url };
}

describe('a guardrail split by region', () => {
  it('rolls back when eu has five times the errors in treatment while the whole population looks healthy', async () => {
    const { rg, clock, call } = await start();
    expect(
      (await call('POST', '/api/admin/flags/checkout.new-flow/rollout/start', testTokens.admin)).status,
    ).toBe(200);
    const random = seededRandom(14);
    let minutes = 0;
    let phase = 'progressing';
    while (phase === 'progressing' && minutes < 60) {
      const at = new Date(clock()).toISOString();
      const records = Object.entries(regions).flatMap(([region, perMinute]) =>
        (['treatment', 'control'] as const).map((arm) => {
          const requests = perMinute / 2;
          const rate = arm === 'treatment' && region === 'eu' ? 0.05 : 0.01;
          return {
            flag: 'checkout.new-flow',
            arm,
            at,
            segment: region,
            requests,
            errors: binomial(requests, rate, random),
          };
        }),
      );
      const posted = await call('POST', '/api/signals', testTokens.ingest, { records });
      expect(posted).toEqual({ status: 200, body: { accepted: 6 } });
      clock.advance(minute);
      await rg.scheduler.tick();
      minutes++;
      phase = (await call('GET', '/api/admin/flags/checkout.new-flow', testTokens.admin)).body.flag.phase;
    }
    expect(phase).toBe('rolled-back');
    expect(minutes).toBeLessThan(15);

    const events = (await call('GET', '/api/admin/events?flag=checkout.new-flow&limit=20', testTokens.admin))
      .body.events as Array<{ type: string; reason: string; data: Record<string, unknown> }>;
    const rollback = events.find((e) => e.type === 'rollout.rolled-back');
    expect(rollback?.reason).toMatch(
      /^errors \(relative\) in region=eu: errors [\d.]+ % in treatment against [\d.]+ % in control \([\d.]+×\), beyond the 2× this guardrail guards against, with [\d.]+ % confidence; the whole population is healthy \(errors [\d.]+ % in treatment against [\d.]+ % in control \([\d.]+×\)\); rolled back from 50 %$/,
    );
    expect(rollback?.data).toMatchObject({
      guardrail: 'errors (relative) in region=eu',
      status: 'regressed',
      segment: { field: 'region', value: 'eu', stream: '0|region=eu' },
      wholePopulation: { status: 'healthy' },
      alpha: 0.001,
    });
    // The total really does look healthy: treatment's error rate is within a fifth of control's.
    const whole = rollback?.data.wholePopulation as { evidence: { rateRatio: number } };
    expect(whole.evidence.rateRatio).toBeLessThan(1.3);
  });

  it('stores a segmented record in the whole population too, and refuses a bad segment naming the record', async () => {
    const { call } = await start();
    const at = '2026-03-02T09:00:00Z';
    const bad = await call('POST', '/api/signals', testTokens.ingest, {
      records: [
        { flag: 'checkout.new-flow', arm: 'control', at, requests: 10, errors: 0, segment: 'eu' },
        { flag: 'checkout.new-flow', arm: 'treatment', ok: true, segment: 'eu west' },
      ],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^record 1, segment: must be 1 to 100 letters/);
    const ok = await call('POST', '/api/signals', testTokens.ingest, {
      records: [
        { flag: 'checkout.new-flow', arm: 'control', at, requests: 10, errors: 1, segment: 'eu' },
        { flag: 'checkout.new-flow', arm: 'control', at, requests: 30, errors: 0 },
        { flag: 'checkout.new-flow', arm: 'treatment', ok: false, segment: 'eu', at },
      ],
    });
    expect(ok).toEqual({ status: 200, body: { accepted: 3 } });
    const health = await call(
      'GET',
      `/api/admin/flags/checkout.new-flow/health?since=${at}`,
      testTokens.admin,
    );
    // The whole population has all three records; eu's own buckets have its two.
    expect(health.body.series.intervals[0].arms).toMatchObject({
      control: { requests: 40, errors: 1 },
      treatment: { requests: 1, errors: 1 },
    });
    expect(health.body.verdict.guardrails.map((g: { name: string }) => g.name)).toEqual([
      'errors (relative)',
      'errors (relative) in region=eu',
    ]);
    expect(health.body.verdict.guardrails[1]).toMatchObject({
      status: 'insufficient-data',
      advisory: true,
      evidence: { treatment: { requests: 1, events: 1 }, control: { requests: 10, events: 1 } },
    });
  });

  it('stores a keyed segmented batch once, however often it is retried', async () => {
    const { rg, clock, url } = await start();
    const body = JSON.stringify({
      records: [
        { flag: 'checkout.new-flow', arm: 'control', at: clock(), segment: 'eu', requests: 10, errors: 1 },
      ],
    });
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${url}/api/signals`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${testTokens.ingest}`,
          'content-type': 'application/json',
          'idempotency-key': 'batch-1',
        },
        body,
      });
      expect(res.status).toBe(200);
    }
    const rows = rg.db
      .prepare<[], { segment: string; count: number }>(
        "SELECT segment, count FROM signal_segment_buckets WHERE metric = 'errors'",
      )
      .all();
    expect(rows).toEqual([{ segment: 'eu', count: 10 }]);
  });
});
