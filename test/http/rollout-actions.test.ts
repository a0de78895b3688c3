import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildRollgate, fixturePlansDir, makeFlagsDir } from '../helpers/rollgate.ts';

const fixtures = [
  path.join(fixturePlansDir, 'checkout.new-flow.yaml'),
  path.join(fixturePlansDir, 'search.banner.yaml'),
];
let stop: (() => Promise<void>) | undefined;
afterEach(async () => stop?.());

function setup() {
  const t = buildRollgate({ flagsDir: makeFlagsDir(fixtures) });
  stop = () => t.rg.stop();
  const act = async (action: string, body?: unknown, flag = 'checkout.new-flow') => {
    const res = await t.call('POST', `/api/admin/flags/${flag}/rollout/${action}`, { body });
    return { status: res.status, body: await res.json() };
  };
  return { ...t, act };
}

describe('manual rollout actions', () => {
  it('drives a rollout through start, pause, resume, promote and promote to full', async () => {
    const { act, clock } = setup();
    const started = await act('start', { reason: 'ship it' });
    expect(started.status).toBe(200);
    expect(started.body.flag).toMatchObject({
      phase: 'progressing',
      percent: 1,
      startedAt: new Date(clock()).toISOString(),
    });
    clock.advance(60_000);
    expect((await act('pause')).body.flag).toMatchObject({
      phase: 'paused',
      percent: 1,
      phaseReason: 'paused by an operator',
    });
    expect((await act('resume')).body.flag).toMatchObject({ phase: 'progressing', percent: 1 });
    const promoted = await act('promote');
    expect(promoted.body.flag).toMatchObject({ phase: 'progressing', percent: 5, stage: { index: 1 } });
    expect(promoted.body.flag.stageStartedAt).toBe(new Date(clock()).toISOString());
    expect((await act('promote', { to: 'full' })).body.flag).toMatchObject({
      phase: 'completed',
      percent: 100,
    });
  });

  it('keeps the original start time and the stage start across pause and resume', async () => {
    const { act, clock } = setup();
    const started = (await act('start')).body.flag;
    clock.advance(5 * 60_000);
    await act('pause');
    clock.advance(5 * 60_000);
    const resumed = (await act('resume')).body.flag;
    expect([resumed.startedAt, resumed.stageStartedAt]).toEqual([started.startedAt, started.stageStartedAt]);
  });

  it('rolls back to 0 % and records the operator and reason', async () => {
    const { act, call } = setup();
    await act('start');
    await act('promote');
    const rolled = await act('rollback', { reason: 'bad dashboards' });
    expect(rolled.body.flag).toMatchObject({ phase: 'rolled-back', percent: 0 });
    const events = await (await call('GET', '/api/admin/events?flag=checkout.new-flow&limit=1')).json();
    expect(events.events[0]).toMatchObject({
      type: 'rollout.rolled-back',
      actor: 'ops',
      reason: 'bad dashboards',
      data: { phaseBefore: 'progressing', percentBefore: 5 },
    });
    expect((await act('start')).body.flag).toMatchObject({ phase: 'progressing', percent: 1 });
  });

  it.each([
    ['promote', 'ready'],
    ['pause', 'ready'],
    ['resume', 'ready'],
    ['rollback', 'ready'],
  ])('answers 409 to %s while the rollout is %s, changing nothing', async (action) => {
    const { act, call } = setup();
    const res = await act(action);
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('CONFLICT');
    expect(res.body.error.message).toMatch(
      new RegExp(`cannot ${action} flag "checkout.new-flow" while it is ready`),
    );
    const flag = (await (await call('GET', '/api/admin/flags/checkout.new-flow')).json()).flag;
    expect(flag.version).toBe(1);
  });

  it('answers 409 to starting twice, resuming a running rollout, and rolling back twice', async () => {
    const { act } = setup();
    await act('start');
    expect((await act('start')).status).toBe(409);
    expect((await act('resume')).status).toBe(409);
    await act('rollback');
    expect((await act('rollback')).body.error.message).toMatch(/while it is rolled-back/);
  });

  it('answers 409 for a flag without a rollout and 400 for a bad body', async () => {
    const { act } = setup();
    const plain = await act('start', undefined, 'search.banner');
    expect(plain.status).toBe(409);
    expect(plain.body.error.message).toBe('flag "search.banner" has no rollout in its plan');
    expect((await act('promote', { to: 'halfway' })).status).toBe(400);
    expect((await act('start', { to: 'full' })).status).toBe(400);
  });
});
