// The safety net's holes, each closed with a test that fails without its fix: evidence missing, retried or hostile.
import { afterEach, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.ts';
import { buildRollgate, makeFlagsDir, tempDir, testTokens } from '../helpers/rollgate.ts';

const minute = 60_000;
const planYaml = (
  extra = '',
  guardrails = '    - { metric: errors, worse: higher }',
) => `name: checkout.new-flow
description: The new checkout flow
owner: payments
type: release
stickiness: userId
${extra}rollout:
  stages:
    - { percent: 1, bake: 1m, minRequests: 100 }
    - { percent: 5, bake: 1m }
    - { percent: 100 }
  guardrails:
${guardrails}
`;

let stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops) await s();
  stops = [];
});

function engine(yaml: string, start = Date.parse('2026-03-02T09:00:00Z')) {
  const clock = manualClock(start);
  const t = buildRollgate({ flagsDir: makeFlagsDir([], { 'c.yaml': yaml }), dataDir: tempDir(), clock });
  stops.push(() => t.rg.stop());
  const flag = async () => (await t.call('GET', '/api/admin/flags/checkout.new-flow')).json();
  const post = async (records: unknown[]) => {
    const res = await t.call('POST', '/api/signals', { token: testTokens.ingest, body: { records } });
    expect(res.status).toBe(200);
  };
  const events = async () => {
    const body = await (await t.call('GET', '/api/admin/events?flag=checkout.new-flow&limit=200')).json();
    return (body.events as Array<{ type: string; reason: string; data: Record<string, unknown> }>).reverse();
  };
  return { ...t, flag, post, events };
}

describe('no control, no verdict', () => {
  for (const [label, extra] of [
    ['without constraints', ''],
    [
      'with constraints (split check skipped)',
      'constraints:\n  - { contextName: region, operator: IN, values: [eu] }\n',
    ],
  ] as const) {
    it(`holds a treatment at 60 errors in 120 requests against an empty control ${label}`, async () => {
      const { call, clock, post, flag, rg, events } = engine(planYaml(extra));
      await call('POST', '/api/admin/flags/checkout.new-flow/rollout/start');
      for (let m = 0; m < 20; m++) {
        await post([{ flag: 'checkout.new-flow', arm: 'treatment', at: clock(), requests: 120, errors: 60 }]);
        clock.advance(minute);
        await rg.scheduler.tick();
      }
      const { flag: f, verdict } = await flag();
      expect(f.phase).toBe('progressing');
      expect(f.percent).toBe(1);
      expect(verdict.guardrails[0].status).toBe('insufficient-data');
      expect(f.phaseReason).toContain('no control traffic for errors (relative)');
      expect((await events()).some((e) => e.type === 'rollout.promoted')).toBe(false);
    });
  }
});

describe('latency limits between buckets', () => {
  const yaml = planYaml('', '    - { metric: latency, worse: higher, quantile: 0.95, max: 300 }');
  const at260 = (n: number, bounds: number[]) => ({
    count: n,
    sum: 260 * n,
    buckets: [...bounds.map((le) => ({ le, count: le >= 260 ? n : 0 })), { le: '+Inf', count: n }],
  });
  const arm = (name: string, requests: number, at: number) => ({
    flag: 'checkout.new-flow',
    arm: name,
    at,
    requests,
    errors: 0,
  });
  async function run(bounds: number[]) {
    const t = engine(yaml);
    await t.call('POST', '/api/admin/flags/checkout.new-flow/rollout/start');
    for (let m = 0; m < 30; m++) {
      const { flag: f } = await t.flag();
      const treatment = Math.round(10 * f.percent);
      await t.post([
        { ...arm('treatment', treatment, t.clock()), latencyMs: at260(treatment, bounds) },
        { ...arm('control', 1000 - treatment, t.clock()), latencyMs: at260(1000 - treatment, bounds) },
      ]);
      t.clock.advance(minute);
      await t.rg.scheduler.tick();
    }
    return { ...(await t.flag()), events: await t.events() };
  }

  it('never rolls back requests at 260 ms against a 300 ms limit with buckets at 250 and 500, and says why it holds', async () => {
    const { flag: f, events } = await run([250, 500]);
    expect(events.filter((e: { type: string }) => e.type === 'rollout.rolled-back')).toEqual([]);
    expect(f.phase).toBe('progressing');
    expect(f.phaseReason).toContain('the 300 ms limit lies inside the (250, 500] ms bucket');
    expect(f.phaseReason).toContain('send a bucket bound at 300 ms');
  });

  it('promotes the same traffic when a bucket bound sits at the limit', async () => {
    const { flag: f, events } = await run([250, 300, 500]);
    expect(events.filter((e: { type: string }) => e.type === 'rollout.rolled-back')).toEqual([]);
    expect(f.phase).toBe('completed');
  });
});
