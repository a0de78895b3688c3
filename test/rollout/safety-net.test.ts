// The safety net's holes, each closed with a test that fails without its fix: evidence missing, retried or hostile.
import fs from 'node:fs';
import path from 'node:path';
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

describe('plan reloads never lower the safety net', () => {
  const staged = (stages: string) => `name: checkout.new-flow
description: d
owner: o
type: release
rollout:
  stages: [${stages}]
`;
  const other = (name: string) => `name: ${name}\ndescription: d\nowner: o\ntype: release\nenabled: true\n`;

  function withFolder(files: Record<string, string>) {
    const flagsDir = makeFlagsDir([], files);
    const t = buildRollgate({ flagsDir, dataDir: tempDir() });
    stops.push(() => t.rg.stop());
    const write = (file: string, text: string) => fs.writeFileSync(path.join(flagsDir, file), text);
    const reload = () => t.call('POST', '/api/admin/plans/reload');
    const flagOf = async (name: string) =>
      (await (await t.call('GET', `/api/admin/flags/${name}`)).json()).flag;
    return { ...t, flagsDir, write, reload, flagOf };
  }

  it('holds at 0 % (paused) when the running stage is gone and every new stage is larger, instead of jumping up', async () => {
    const t = withFolder({ 'c.yaml': staged('{ percent: 1 }, { percent: 25 }, { percent: 100 }') });
    await t.call('POST', '/api/admin/flags/checkout.new-flow/rollout/start');
    expect((await t.flagOf('checkout.new-flow')).percent).toBe(1);
    t.write('c.yaml', staged('{ percent: 5 }, { percent: 25 }, { percent: 100 }'));
    expect((await t.reload()).status).toBe(200);
    const f = await t.flagOf('checkout.new-flow');
    expect(f).toMatchObject({ phase: 'paused', percent: 0 });
    expect(f.phaseReason).toMatch(/every stage of the new plan is larger; holding at 0%/);
    const resumed = await t.call('POST', '/api/admin/flags/checkout.new-flow/rollout/resume');
    expect((await resumed.json()).flag).toMatchObject({ phase: 'progressing', percent: 5 });
  });

  it('steps down to the nearest smaller stage when the running one is gone', async () => {
    const t = withFolder({ 'c.yaml': staged('{ percent: 1 }, { percent: 10 }, { percent: 100 }') });
    await t.call('POST', '/api/admin/flags/checkout.new-flow/rollout/start');
    await t.call('POST', '/api/admin/flags/checkout.new-flow/rollout/promote');
    t.write('c.yaml', staged('{ percent: 1 }, { percent: 5 }, { percent: 20 }, { percent: 100 }'));
    await t.reload();
    expect(await t.flagOf('checkout.new-flow')).toMatchObject({ phase: 'progressing', percent: 5 });
  });

  it('refuses a reload that would remove every flag or more than half, keeping the last good plans', async () => {
    const t = withFolder({ 'a.yaml': other('a'), 'b.yaml': other('b'), 'c.yaml': other('c') });
    for (const f of ['a.yaml', 'b.yaml']) fs.rmSync(path.join(t.flagsDir, f));
    const half = await t.reload();
    expect(half.status).toBe(422);
    expect(JSON.stringify(await half.json())).toMatch(/would remove 2 of 3 flags/);
    fs.rmSync(t.flagsDir, { recursive: true });
    const gone = await t.reload();
    expect(gone.status).toBe(422);
    expect(JSON.stringify(await gone.json())).toMatch(/would remove 3 of 3 flags/);
    const flags = (await (await t.call('GET', '/api/admin/flags')).json()).flags;
    expect(flags.map((f: { name: string }) => f.name)).toEqual(['a', 'b', 'c']);
    // The refusal is in each named flag's own log.
    const events = (await (await t.call('GET', '/api/admin/events?flag=a')).json()).events;
    expect(events[0]).toMatchObject({ type: 'plans.rejected', flag: 'a' });
  });

  it('removes one flag of three, and all of them when ROLLGATE_ALLOW_MASS_REMOVAL is set', async () => {
    const t = withFolder({ 'a.yaml': other('a'), 'b.yaml': other('b'), 'c.yaml': other('c') });
    fs.rmSync(path.join(t.flagsDir, 'a.yaml'));
    expect((await t.reload()).status).toBe(200);
    const flagsDir = makeFlagsDir([], { 'a.yaml': other('a'), 'b.yaml': other('b') });
    const allowed = buildRollgate({ flagsDir, env: { ROLLGATE_ALLOW_MASS_REMOVAL: 'true' } });
    stops.push(() => allowed.rg.stop());
    fs.rmSync(flagsDir, { recursive: true });
    const res = await allowed.call('POST', '/api/admin/plans/reload');
    expect(res.status).toBe(200);
    expect((await res.json()).removed).toEqual(['a', 'b']);
  });

  it('answers 422 with a plan problem for an alias bomb, never a 500, and records it against the flag', async () => {
    const t = withFolder({ 'a.yaml': other('a'), 'b.yaml': other('b') });
    const laughs = ['x: &a [1,1,1,1,1,1,1,1,1]'];
    for (const [i, p] of ['a', 'b', 'c', 'd', 'e', 'f', 'g'].entries()) {
      const n = 'bcdefgh'[i];
      laughs.push(`${n}${i}: &${n} [${Array(9).fill(`*${p}`).join(',')}]`);
    }
    t.write('a.yaml', `${laughs.join('\n')}\n`);
    const res = await t.reload();
    expect(res.status).toBe(422);
    expect(JSON.stringify(await res.json())).toMatch(/a\.yaml: \(root\): not a plan/);
    const events = (await (await t.call('GET', '/api/admin/events?flag=a')).json()).events;
    expect(events[0]).toMatchObject({ type: 'plans.rejected' });
  });

  it("applies an edit of a plain switch's enabled:, and says so when enabled: means nothing on a rollout", async () => {
    const t = withFolder({ 'a.yaml': other('a'), 'c.yaml': staged('{ percent: 5 }, { percent: 100 }') });
    expect((await t.flagOf('a')).enabled).toBe(true);
    t.write('a.yaml', other('a').replace('enabled: true', 'enabled: false'));
    t.write('c.yaml', `${staged('{ percent: 5 }, { percent: 100 }')}enabled: true\n`);
    await t.reload();
    expect(await t.flagOf('a')).toMatchObject({ enabled: false, percent: 0 });
    const [disabled] = (await (await t.call('GET', '/api/admin/events?flag=a&type=flag.disabled')).json())
      .events;
    expect(disabled).toMatchObject({ actor: 'ops', reason: 'enabled: false in a.yaml' });
    const ignored = (
      await (await t.call('GET', '/api/admin/events?flag=checkout.new-flow&type=plan.field-ignored')).json()
    ).events;
    expect(ignored[0].reason).toMatch(/applies to plain switches/);
  });
});

describe('promoting past a pause', () => {
  it('watches afresh, so the verdict that paused it does not pause it again at a higher percent', async () => {
    const yaml = planYaml('', '    - { metric: errors, worse: higher }').replace(
      'rollout:',
      'rollout:\n  onRegression: pause',
    );
    const { call, clock, post, flag, rg } = engine(yaml);
    await call('POST', '/api/admin/flags/checkout.new-flow/rollout/start');
    for (let m = 0; m < 10 && (await flag()).flag.phase !== 'paused'; m++) {
      await post([
        { flag: 'checkout.new-flow', arm: 'treatment', at: clock(), requests: 100, errors: 30 },
        { flag: 'checkout.new-flow', arm: 'control', at: clock(), requests: 9900, errors: 30 },
      ]);
      clock.advance(minute);
      await rg.scheduler.tick();
    }
    expect((await flag()).flag.phase).toBe('paused');
    const promoted = await call('POST', '/api/admin/flags/checkout.new-flow/rollout/promote', {
      body: { reason: 'the errors were a test fixture' },
    });
    expect((await promoted.json()).flag).toMatchObject({ phase: 'progressing', percent: 5 });
    clock.advance(minute);
    await rg.scheduler.tick();
    expect((await flag()).flag).toMatchObject({ phase: 'progressing', percent: 5 });
    const [event] = (await (await call('GET', '/api/admin/events?type=rollout.promoted&limit=1')).json())
      .events;
    expect(event.data.overrode).toMatch(/errors \(relative\)/);
  });
});
