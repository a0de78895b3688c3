import { afterEach, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.ts';
import { buildRollgate, makeFlagsDir, tempDir, testTokens } from '../helpers/rollgate.ts';
import { minuteRecords, seededRandom } from '../helpers/traffic.ts';

const minute = 60_000;
const plan = (onRegression: string) => `name: checkout.new-flow
description: The new checkout flow
owner: payments
type: release
stickiness: userId
rollout:
  stages:
    - { percent: 1, bake: 10m, minRequests: 1000 }
    - { percent: 5, bake: 10m, minRequests: 2000 }
    - { percent: 25, bake: 10m }
    - { percent: 100 }
  guardrails:
    - { metric: errors, worse: higher }
  onRegression: ${onRegression}
  holdback: 2
`;

let stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops) await s();
  stops = [];
});

function setup(
  onRegression = 'rollback',
  dataDir = tempDir(),
  flagsDir = makeFlagsDir([], { 'c.yaml': plan(onRegression) }),
  start = Date.parse('2026-03-02T09:00:00Z'),
) {
  const clock = manualClock(start);
  const t = buildRollgate({ flagsDir, dataDir, clock });
  stops.push(() => t.rg.stop());
  const random = seededRandom(7);
  const flag = async () => (await t.call('GET', '/api/admin/flags/checkout.new-flow')).json();
  /** Sends one minute of traffic at the served percent, moves the clock a minute, and ticks the scheduler. */
  const minuteOf = async (treatmentErrorRate = 0.01) => {
    const { flag: f } = await flag();
    const records = minuteRecords({
      flag: 'checkout.new-flow',
      at: clock(),
      requestsPerMinute: 20_000,
      percent: f.percent,
      controlErrorRate: 0.01,
      treatmentErrorRate,
      random,
    });
    const res = await t.call('POST', '/api/signals', { token: testTokens.ingest, body: { records } });
    expect(res.status).toBe(200);
    clock.advance(minute);
    return t.rg.scheduler.tick();
  };
  return { ...t, flag, minuteOf, dataDir, flagsDir };
}

async function eventsOf(call: ReturnType<typeof setup>['call']) {
  const body = await (await call('GET', '/api/admin/events?flag=checkout.new-flow&limit=100')).json();
  return (
    body.events as Array<{ type: string; actor: string; reason: string; data: Record<string, unknown> }>
  ).reverse();
}

describe('the rollout engine', () => {
  it('advances 1 → 5 → 25 → 100 % on healthy signals, each stage after its bake and exposure', async () => {
    const { call, minuteOf, flag } = setup();
    await call('POST', '/api/admin/flags/checkout.new-flow/rollout/start');
    const percents: number[] = [];
    for (let m = 0; m < 60; m++) {
      await minuteOf();
      const { flag: f } = await flag();
      if (percents.at(-1) !== f.percent) percents.push(f.percent);
      if (f.phase === 'completed') break;
    }
    expect(percents).toEqual([1, 5, 25, 98]);
    // Complete, it watches the 2 % holdback for drift; no minute has been reported against it yet.
    const detail = await flag();
    expect(detail.verdict.guardrails[0]).toMatchObject({
      name: 'errors (relative) (drift vs holdback)',
      status: 'insufficient-data',
    });
    const events = await eventsOf(call);
    const transitions = events.filter((e) => e.type.startsWith('rollout.') && e.type !== 'rollout.held');
    expect(transitions.map((e) => [e.type, e.actor])).toEqual([
      ['rollout.started', 'ops'],
      ['rollout.promoted', 'controller'],
      ['rollout.promoted', 'controller'],
      ['rollout.completed', 'controller'],
    ]);
    const promoted = transitions[1];
    expect(promoted?.reason).toMatch(
      /^healthy: 10 min of 10 min baked, [\d,]+ of 1,000 treatment requests, 1 guardrail passed; errors [\d.]+ % vs [\d.]+ %$/,
    );
    expect(promoted?.data).toMatchObject({
      action: 'promote',
      fromStage: 'stage 1/4 (1%)',
      stage: 'stage 2/4 (5%)',
    });
    const verdict = promoted?.data.verdict as { guardrails: Array<{ name: string; status: string }> };
    expect(verdict.guardrails[0]).toMatchObject({ name: 'errors (relative)', status: 'healthy' });
  });

  it('rolls back on its own when treatment errors rise fivefold at stage 2, with the evidence', async () => {
    const { call, minuteOf, flag } = setup();
    await call('POST', '/api/admin/flags/checkout.new-flow/rollout/start');
    await call('POST', '/api/admin/flags/checkout.new-flow/rollout/promote');
    let minutes = 0;
    while ((await flag()).flag.phase === 'progressing' && minutes < 30) {
      await minuteOf(0.05);
      minutes++;
    }
    const { flag: f } = await flag();
    expect([f.phase, f.percent]).toEqual(['rolled-back', 0]);
    expect(minutes).toBeLessThan(10);
    const last = (await eventsOf(call)).at(-1);
    expect(last).toMatchObject({
      type: 'rollout.rolled-back',
      actor: 'controller',
      data: { guardrail: 'errors (relative)' },
    });
    expect(last?.reason).toMatch(
      /^errors \(relative\): errors [\d.]+ % in treatment against [\d.]+ % in control \([\d.]+×\), beyond the 2× this guardrail guards against, with [\d.]+ % confidence; rolled back from 5 %$/,
    );
  });

  it('steps back to stage 1 and holds there when the plan says step-back', async () => {
    const { call, minuteOf, flag } = setup('step-back');
    await call('POST', '/api/admin/flags/checkout.new-flow/rollout/start');
    await call('POST', '/api/admin/flags/checkout.new-flow/rollout/promote');
    for (let m = 0; m < 30 && (await flag()).flag.phase === 'progressing'; m++) await minuteOf(0.05);
    const { flag: f } = await flag();
    expect([f.phase, f.percent, f.stage.index]).toEqual(['paused', 1, 0]);
    expect((await eventsOf(call)).at(-1)?.type).toBe('rollout.stepped-back');

    // A person judges the cause fixed and resumes: the tests watch afresh, so the old alarm does not step it
    // back again, and healthy traffic carries it forward.
    const resumed = await (await call('POST', '/api/admin/flags/checkout.new-flow/rollout/resume')).json();
    expect(resumed.flag.watchSince).toBe(resumed.flag.updatedAt);
    for (let m = 0; m < 30 && (await flag()).flag.percent < 5; m++) await minuteOf();
    const after = (await flag()).flag;
    expect([after.phase, after.percent]).toEqual(['progressing', 5]);
    expect((await eventsOf(call)).filter((e) => e.type === 'rollout.stepped-back')).toHaveLength(1);
  });

  it('holds without signals, never promoting on missing data, and says so once', async () => {
    const { call, rg, clock, flag } = setup();
    await call('POST', '/api/admin/flags/checkout.new-flow/rollout/start');
    for (let m = 0; m < 30; m++) {
      clock.advance(minute);
      await rg.scheduler.tick();
    }
    const { flag: f } = await flag();
    expect([f.phase, f.percent]).toEqual(['progressing', 1]);
    const held = (await eventsOf(call)).filter((e) => e.type === 'rollout.held');
    expect(held).toHaveLength(1);
    expect(held[0]?.reason).toMatch(/waiting for data|waiting for exposure|no control traffic|no signals/);
  });

  it('resumes mid-stage after a restart with the same elapsed bake', async () => {
    const first = setup();
    await first.call('POST', '/api/admin/flags/checkout.new-flow/rollout/start');
    for (let m = 0; m < 6; m++) await first.minuteOf();
    const before = (await first.flag()).flag;
    await first.rg.stop();
    stops = [];

    const second = setup('rollback', first.dataDir, first.flagsDir, first.clock());
    const after = (await second.flag()).flag;
    expect([after.phase, after.percent, after.stageStartedAt, after.startedAt]).toEqual([
      'progressing',
      1,
      before.stageStartedAt,
      before.startedAt,
    ]);
    // The 10-minute bake counts the 6 minutes before the restart: promotion comes 4 minutes later, not 10.
    let minutes = 0;
    while ((await second.flag()).flag.percent === 1 && minutes < 20) {
      await second.minuteOf();
      minutes++;
    }
    expect(minutes).toBe(4);
  });
});
