import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildRollgate, fixturePlansDir, makeFlagsDir, tempDir, testTokens } from '../helpers/rollgate.ts';

const fixtures = [
  path.join(fixturePlansDir, 'checkout.new-flow.yaml'),
  path.join(fixturePlansDir, 'search.banner.yaml'),
];
const open: Array<{ stop(): Promise<void> }> = [];
afterEach(async () => {
  for (const rg of open.splice(0)) await rg.stop();
});

function setup(opts: { dataDir?: string; flagsDir?: string } = {}) {
  const t = buildRollgate({ flagsDir: opts.flagsDir ?? makeFlagsDir(fixtures), dataDir: opts.dataDir });
  open.push(t.rg);
  return t;
}

describe('admin API', () => {
  it('lists flags with their runtime state and serves one with its plan and events', async () => {
    const { call } = setup();
    const list = await (await call('GET', '/api/admin/flags')).json();
    expect(
      list.flags.map((f: { name: string; phase: string; percent: number }) => [f.name, f.phase, f.percent]),
    ).toEqual([
      ['checkout.new-flow', 'ready', 0],
      ['search.banner', 'static', 100],
    ]);
    const one = await (await call('GET', '/api/admin/flags/checkout.new-flow')).json();
    expect(one.plan.rollout.stages).toHaveLength(4);
    expect(one.flag.stage).toEqual({ index: 0, of: 4, percent: 1, bake: '10m', minRequests: 100 });
    expect(one.events[0]).toMatchObject({ type: 'plan.added', actor: 'plans-loader' });
  });

  it('says that one process on its SQLite file is the only replica and always leads', async () => {
    const { call } = setup();
    const res = await call('GET', '/api/admin/replicas');
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ mode: 'single', leading: true, listening: true });
    expect(body.leader.id).toBe(body.id);
    expect(body.id).toMatch(/:\d+$/);
    expect((await call('GET', '/api/admin/replicas', { token: testTokens.client })).status).toBe(403);
  });

  it('disables a flag as a kill switch and records who, when and why', async () => {
    const { call, clock } = setup();
    const res = await call('POST', '/api/admin/flags/search.banner/disable', {
      body: { reason: 'incident 4711' },
    });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.flag).toMatchObject({ enabled: false, percent: 0 });
    expect(body.changed).toBe(true);
    const events = await (await call('GET', '/api/admin/events?flag=search.banner&limit=1')).json();
    expect(events.events[0]).toMatchObject({
      type: 'flag.disabled',
      actor: 'ops',
      reason: 'incident 4711',
      at: new Date(clock()).toISOString(),
      data: { percentBefore: 100 },
    });
    const again = await (await call('POST', '/api/admin/flags/search.banner/disable')).json();
    expect(again.changed).toBe(false);
    const enabled = await (await call('POST', '/api/admin/flags/search.banner/enable')).json();
    expect(enabled.flag).toMatchObject({ enabled: true, percent: 100 });
  });

  it('pages through the event log newest first', async () => {
    const { call } = setup();
    for (let i = 0; i < 3; i++) {
      await call('POST', '/api/admin/flags/search.banner/disable', { body: { reason: `r${i}` } });
      await call('POST', '/api/admin/flags/search.banner/enable');
    }
    const first = await (await call('GET', '/api/admin/events?flag=search.banner&limit=4')).json();
    expect(first.events.map((e: { type: string }) => e.type)).toEqual([
      'flag.enabled',
      'flag.disabled',
      'flag.enabled',
      'flag.disabled',
    ]);
    const second = await (
      await call('GET', `/api/admin/events?flag=search.banner&limit=4&before=${first.next}`)
    ).json();
    expect(second.events.map((e: { type: string }) => e.type)).toEqual([
      'flag.enabled',
      'flag.disabled',
      'plan.added',
    ]);
    expect(second.next).toBeNull();
    expect(second.events[0].id).toBeLessThan(first.events[3].id);
  });

  it.each([
    ['no token', null, 401, 'UNAUTHORIZED'],
    ['a wrong token', 'not-a-real-token-at-all', 401, 'UNAUTHORIZED'],
    ['a client token', testTokens.client, 403, 'FORBIDDEN'],
    ['an alert token', testTokens.alert, 403, 'FORBIDDEN'],
  ] as const)('answers %s with %i and an error body', async (_label, token, status, code) => {
    const { call } = setup();
    for (const [method, url] of [
      ['GET', '/api/admin/flags'],
      ['POST', '/api/admin/flags/search.banner/disable'],
      ['GET', '/api/admin/events'],
      ['POST', '/api/admin/plans/reload'],
    ] as const) {
      const res = await call(method, url, { token });
      expect(res.status, `${method} ${url}`).toBe(status);
      expect((await res.json()).error.code).toBe(code);
    }
    const after = await (await call('GET', '/api/admin/flags/search.banner')).json();
    expect(after.flag.enabled).toBe(true);
  });

  it('accepts the admin token raw as well as Bearer', async () => {
    const { rg } = setup();
    const res = await rg.app.request('/api/admin/flags', { headers: { authorization: testTokens.admin } });
    expect(res.status).toBe(200);
  });

  it('rejects bad input with 400 naming the field, and changes nothing', async () => {
    const { call, rg } = setup();
    const bad = await call('POST', '/api/admin/flags/search.banner/disable', { body: { reason: 42 } });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({
      error: { code: 'BAD_REQUEST', details: { issues: [{ path: 'reason' }] } },
    });
    const junk = await rg.app.request('/api/admin/flags/search.banner/disable', {
      method: 'POST',
      headers: { authorization: `Bearer ${testTokens.admin}` },
      body: '{"reason":',
    });
    expect(junk.status).toBe(400);
    expect(((await junk.json()) as { error: { message: string } }).error.message).toMatch(/not valid JSON/);
    const extra = await call('POST', '/api/admin/flags/search.banner/disable', {
      body: { reason: 'x', force: true },
    });
    expect(extra.status).toBe(400);
    const query = await call('GET', '/api/admin/events?limit=0');
    expect(query.status).toBe(400);
    expect((await query.json()).error.details.issues[0].path).toBe('limit');
    const flag = await (await call('GET', '/api/admin/flags/search.banner')).json();
    expect(flag.flag).toMatchObject({ enabled: true, version: 1 });
  });

  it('answers unknown flags and routes with 404', async () => {
    const { call } = setup();
    const res = await call('POST', '/api/admin/flags/nope/enable');
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'no flag named "nope"' } });
    expect((await call('GET', '/api/admin/nothing-here')).status).toBe(404);
  });

  it('reloads plans all-or-nothing: a bad folder keeps the last good plans and records the rejection', async () => {
    const flagsDir = makeFlagsDir(fixtures);
    const { call } = setup({ flagsDir });
    fs.writeFileSync(path.join(flagsDir, 'broken.yaml'), 'name: broken\n');
    fs.writeFileSync(
      path.join(flagsDir, 'search.banner.yaml'),
      'name: search.banner\ndescription: changed\nowner: web\ntype: operational\n',
    );
    const res = await call('POST', '/api/admin/plans/reload');
    expect(res.status).toBe(422);
    const body = await res.json();
    expect(body.error.details.problems).toContain(
      'broken.yaml: description: Invalid input: expected string, received undefined',
    );
    const banner = await (await call('GET', '/api/admin/flags/search.banner')).json();
    expect(banner.flag.description).toBe('A plain on/off flag without a rollout');
    const events = await (await call('GET', '/api/admin/events?type=plans.rejected')).json();
    expect(events.events[0].data.problems.length).toBeGreaterThanOrEqual(3);

    fs.rmSync(path.join(flagsDir, 'broken.yaml'));
    const ok = await (await call('POST', '/api/admin/plans/reload')).json();
    expect(ok).toEqual({ ok: true, added: [], changed: ['search.banner'], removed: [] });
    fs.rmSync(path.join(flagsDir, 'search.banner.yaml'));
    const removed = await (await call('POST', '/api/admin/plans/reload')).json();
    expect(removed.removed).toEqual(['search.banner']);
    expect((await call('GET', '/api/admin/flags/search.banner')).status).toBe(404);
  });

  it('keeps a running rollout at its stage across a plan change, and says so when the stage is gone', async () => {
    const flagsDir = makeFlagsDir(fixtures);
    const { call } = setup({ flagsDir });
    await call('POST', '/api/admin/flags/checkout.new-flow/rollout/start');
    await call('POST', '/api/admin/flags/checkout.new-flow/rollout/promote');
    const file = path.join(flagsDir, 'checkout.new-flow.yaml');
    const text = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, text.replace('bake: 10m, minRequests: 200', 'bake: 20m, minRequests: 300'));
    await call('POST', '/api/admin/plans/reload');
    let flag = (await (await call('GET', '/api/admin/flags/checkout.new-flow')).json()).flag;
    expect([flag.stage.index, flag.percent, flag.stage.bake]).toEqual([1, 5, '20m']);

    fs.writeFileSync(
      file,
      text.replace(
        '    - { percent: 5, bake: 10m, minRequests: 200 }\n',
        '    - { percent: 10, bake: 10m }\n',
      ),
    );
    await call('POST', '/api/admin/plans/reload');
    const detail = await (await call('GET', '/api/admin/flags/checkout.new-flow')).json();
    flag = detail.flag;
    expect([flag.stage.index, flag.percent, flag.phase]).toEqual([0, 1, 'progressing']);
    expect(detail.events[0]).toMatchObject({
      type: 'rollout.stage-moved',
      reason: 'stage 5% no longer exists; holding at 1%',
    });
  });

  it('keeps state across a restart on the same database file', async () => {
    const dataDir = tempDir();
    const flagsDir = makeFlagsDir(fixtures);
    const first = setup({ dataDir, flagsDir });
    await first.call('POST', '/api/admin/flags/checkout.new-flow/rollout/start');
    await first.call('POST', '/api/admin/flags/checkout.new-flow/rollout/promote');
    await first.call('POST', '/api/admin/flags/search.banner/disable', {
      body: { reason: 'before restart' },
    });
    const before = (await (await first.call('GET', '/api/admin/flags')).json()).flags;
    await first.rg.stop();
    open.pop();

    const second = setup({ dataDir, flagsDir });
    const after = (await (await second.call('GET', '/api/admin/flags')).json()).flags;
    expect(after).toEqual(before);
    const events = await (await second.call('GET', '/api/admin/events?flag=search.banner&limit=1')).json();
    expect(events.events[0].reason).toBe('before restart');
  });

  it('serves liveness, readiness and Prometheus metrics', async () => {
    const { rg } = setup();
    expect(await (await rg.app.request('/health/live')).json()).toEqual({ status: 'ok' });
    expect((await rg.app.request('/health/ready')).status).toBe(200);
    const metrics = await (await rg.app.request('/metrics')).text();
    expect(metrics).toContain('rollgate_flag_percent{flag="search.banner"} 100');
    expect(metrics).toContain('rollgate_flag_phase{flag="checkout.new-flow",phase="ready"} 1');
  });
});
