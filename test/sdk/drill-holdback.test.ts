// The drill's holdback check: a completed flag's rollback target must still get traffic and not be the worse path.
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.ts';
import { buildRollgate, makeFlagsDir, testTokens } from '../helpers/rollgate.ts';
import { minuteRecords, seededRandom } from '../helpers/traffic.ts';

const open: Array<{ stop(): Promise<void> }> = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.stop();
});

const plan = (name: string) => `name: ${name}
description: completed with a holdback
owner: tests
type: release
rollout:
  stages:
    - { percent: 50 }
    - { percent: 100 }
  guardrails:
    - { metric: errors, worse: higher }
  holdback: 5
`;

const flags = ['shop.alive', 'shop.no-control', 'shop.bad-holdback'];

async function completed() {
  const t = buildRollgate({
    flagsDir: makeFlagsDir([], Object.fromEntries(flags.map((f) => [`${f}.yaml`, plan(f)]))),
  });
  open.push(t.rg);
  for (const f of flags) {
    expect((await t.call('POST', `/api/admin/flags/${f}/rollout/start`, { body: {} })).status).toBe(200);
    const full = await t.call('POST', `/api/admin/flags/${f}/rollout/promote`, { body: { to: 'full' } });
    expect((await full.json()).flag.phase).toBe('completed');
  }
  return t;
}

describe('the holdback check of a rollback drill', () => {
  it('passes a live, healthy holdback and fails one without traffic or worse than the rolled-out path', async () => {
    const { rg, clock, call } = await completed();
    const random = seededRandom(7);
    for (let m = 0; m < 30; m++) {
      clock.advance(60_000);
      const at = clock() - 30_000;
      const traffic = { at, requestsPerMinute: 1000, percent: 95, random, treatmentErrorRate: 0.01 };
      const records = [
        ...minuteRecords({ ...traffic, flag: 'shop.alive', controlErrorRate: 0.01 }),
        ...minuteRecords({ ...traffic, flag: 'shop.no-control', controlErrorRate: 0.01 }).filter(
          (r) => r.arm === 'treatment',
        ),
        ...minuteRecords({ ...traffic, flag: 'shop.bad-holdback', controlErrorRate: 0.2 }),
      ];
      const res = await call('POST', '/api/signals', { token: testTokens.ingest, body: { records } });
      expect(res.status).toBe(200);
    }
    const { done } = rg.drills.start('ops', { reason: 'check holdbacks' });
    const drill = await done;
    // No SDK instance was seen: the drill vouches for nothing, and says so.
    expect(drill.status).toBe('no-instances');
    expect(drill.summary).toContain('No SDK instance was seen');
    const byFlag = new Map(drill.holdbacks.map((h) => [h.flag, h]));
    expect(byFlag.get('shop.alive')).toMatchObject({ status: 'pass', holdbackPercent: 5 });
    expect(byFlag.get('shop.alive')?.numbers.controlRecent).toBeGreaterThan(0);
    expect(byFlag.get('shop.no-control')?.status).toBe('fail');
    expect(byFlag.get('shop.no-control')?.summary).toContain('had no requests in the last 60 min');
    expect(byFlag.get('shop.bad-holdback')?.status).toBe('fail');
    expect(byFlag.get('shop.bad-holdback')?.summary).toContain('worse than the rolled-out path');
    expect(byFlag.get('shop.bad-holdback')?.numbers.guardrail).toBe('errors (relative)');
    expect(drill.summary).toContain('Holdbacks: 1 of 3 alive (not: shop.bad-holdback, shop.no-control)');

    // The whole run is in the event log, holdbacks included.
    const events = await (await call('GET', '/api/admin/events?flag=rollgate.drill')).json();
    expect(events.events.map((e: { type: string }) => e.type)).toEqual([
      'drill.no-instances',
      'drill.started',
    ]);
    expect(events.events[0].data.holdbacks).toHaveLength(3);
    expect(events.events[0].actor).toBe('ops');
  });

  it('refuses a drill timeout outside 1s to 10m, naming the field, and starts nothing', async () => {
    const { call } = await completed();
    const res = await call('POST', '/api/admin/drill', { body: { timeout: '2h' } });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toContain('timeout');
    expect((await (await call('GET', '/api/admin/drill')).json()).drill).toBeNull();
  });

  it('reserves rollgate.drill: no plan may take the name', async () => {
    const { call } = await completed();
    const reload = makeFlagsDir([], { 'drill.yaml': plan('rollgate.drill') });
    const { loadPlanDir } = await import('../../src/plans/load.ts');
    const result = loadPlanDir(reload);
    expect(result.ok).toBe(false);
    expect(JSON.stringify(result)).toContain('reserved for rollback drills');
    expect((await call('GET', '/api/admin/flags')).status).toBe(200);
  });
});

describe('ROLLGATE_DRILL_INTERVAL', () => {
  it('is off by default, takes a duration of at least 5m, and names itself when wrong', () => {
    const base = { ROLLGATE_ADMIN_TOKENS: 'ops=admin-secret-0123456789' };
    const off = parseConfig(base);
    expect(off.ok && off.config.drill.intervalMs).toBeUndefined();
    const hourly = parseConfig({ ...base, ROLLGATE_DRILL_INTERVAL: '1h' });
    expect(hourly.ok && hourly.config.drill.intervalMs).toBe(3_600_000);
    const short = parseConfig({ ...base, ROLLGATE_DRILL_INTERVAL: '10s' });
    expect(short.ok).toBe(false);
    expect(!short.ok && short.problems).toEqual([
      'ROLLGATE_DRILL_INTERVAL: "10s" is shorter than the minimum 5m',
    ]);
  });
});

describe('drill scheduling and shutdown', () => {
  it('runs drills on a schedule, as the drill scheduler', async () => {
    const { rg } = await completed();
    rg.drills.schedule(50);
    await expect.poll(() => rg.drills.current()?.status, { timeout: 5000 }).toBe('no-instances');
    expect(rg.drills.current()?.actor).toBe('drill-scheduler');
    expect(rg.drills.current()?.reason).toBe('scheduled rollback drill');
  });

  it('a shutdown ends a running drill at once: the flag is restored and the run recorded as failed', async () => {
    const { rg } = await completed();
    // An instance that polled twice (a drill judges only instances seen on two requests) and will not again.
    for (let n = 0; n < 2; n++)
      rg.sdks.fetched(
        { 'unleash-appname': 'checkout', 'unleash-instanceid': 'pod-z' },
        rg.served.current().revision,
        rg.served.current().etag,
        'poll',
      );
    const { run, done } = rg.drills.start('ops', { timeoutMs: 60_000 });
    expect(run.status).toBe('running');
    expect(rg.served.current().byName.get('rollgate.drill')?.enabled).toBe(true);
    const started = Date.now();
    await rg.stop();
    open.splice(0);
    const drill = await done;
    expect(Date.now() - started).toBeLessThan(5000);
    expect(drill).toMatchObject({ status: 'failed', missed: ['checkout/pod-z'] });
    expect(rg.served.current().byName.has('rollgate.drill')).toBe(false);
  });
});
