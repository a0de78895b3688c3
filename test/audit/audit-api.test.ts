// GET /api/admin/audit on a real Rollgate (real SQLite, the real app): each blind spot found and cleared on
// purpose-built plans and traffic, the ledger of overrides, and refused input.
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditCheck } from '../../src/audit/check.ts';
import { buildRollgate, makeFlagsDir, testTokens } from '../helpers/rollgate.ts';

const plans = {
  'watched.yaml': `
name: watched
description: watched by two guardrails
owner: qa
type: release
rollout:
  stages: [{ percent: 50, bake: 10m }, { percent: 100 }]
  guardrails:
    - { metric: errors, worse: higher }
    - { metric: latency, worse: higher }
`,
  'bare.yaml': `
name: bare
description: nothing watches it
owner: qa
type: release
rollout:
  stages: [{ percent: 10, bake: 10m }, { percent: 100 }]
`,
  'done.yaml': `
name: done
description: rolled out long ago
owner: qa
type: release
rollout:
  stages: [{ percent: 20, bake: 10m }, { percent: 100 }]
  alerts: [{ match: { alertname: DoneErrors } }]
`,
};

const open: Array<{ stop(): Promise<void> }> = [];
afterEach(async () => {
  for (const rg of open.splice(0)) await rg.stop();
});

function setup() {
  // One seed and a day at most: these tests are about the blind spots; test/audit/power.test.ts is about power.
  const t = buildRollgate({
    flagsDir: makeFlagsDir([], plans),
    options: { audit: { power: { seeds: 1, maxMinutes: 1440 } } },
  });
  open.push(t.rg);
  const audit = async (query = '') => {
    const res = await t.call('GET', `/api/admin/audit${query}`);
    expect(res.status).toBe(200);
    return (await res.json()) as { status: string; checks: AuditCheck[]; ledger: Array<{ kind: string }> };
  };
  const signals = (records: object[]) =>
    t.call('POST', '/api/signals', { token: testTokens.ingest, body: { records } });
  return { ...t, audit, signals };
}

const find = (checks: AuditCheck[], check: string, subject?: string) =>
  checks.filter((c) => c.check === check && (subject === undefined || c.subject === subject));

describe('GET /api/admin/audit', { timeout: 60_000 }, () => {
  it('fails a rollout that has no guardrail and no alert rule, and passes the others', async () => {
    const { audit } = setup();
    const report = await audit();
    expect(report.status).toBe('fail');
    expect(find(report.checks, 'blind-spot.unwatched')).toEqual([
      expect.objectContaining({
        status: 'fail',
        subject: 'bare',
        numbers: { guardrails: 0, alerts: 0, stages: 2 },
      }),
    ]);
    // Not running and no --traffic: power is a warning per plan, not a guess.
    expect(find(report.checks, 'power', 'watched')).toEqual([
      expect.objectContaining({ status: 'warn', numbers: { traffic: null } }),
    ]);
    // Failures come first.
    expect(report.checks[0]?.status).toBe('fail');
  });

  it('names a guardrail with no signal and a rollout without control traffic, and clears them when signals come', async () => {
    const { audit, signals, call, clock } = setup();
    expect((await call('POST', '/api/admin/flags/watched/rollout/start', { body: {} })).status).toBe(200);
    const at = new Date(clock()).toISOString();
    // Treatment reports errors only, control nothing: no control, and the latency guardrail is blind.
    await signals([{ flag: 'watched', arm: 'treatment', at, requests: 500, errors: 2 }]);
    let report = await audit();
    const stale = find(report.checks, 'blind-spot.stale-guardrail', 'watched');
    expect(stale).toEqual([
      expect.objectContaining({
        status: 'fail',
        numbers: expect.objectContaining({ guardrail: 'latency (relative)' }),
      }),
    ]);
    expect(find(report.checks, 'blind-spot.no-control', 'watched')).toEqual([
      expect.objectContaining({
        status: 'fail',
        numbers: expect.objectContaining({ treatment: 500, control: 0 }),
      }),
    ]);

    const latencyMs = {
      count: 500,
      sum: 50_000,
      buckets: [
        { le: 100, count: 250 },
        { le: '+Inf', count: 500 },
      ],
    };
    await signals([
      { flag: 'watched', arm: 'control', at, requests: 500, errors: 1, latencyMs },
      {
        flag: 'watched',
        arm: 'treatment',
        at,
        requests: 1,
        latencyMs: {
          ...latencyMs,
          count: 1,
          sum: 100,
          buckets: [
            { le: 100, count: 1 },
            { le: '+Inf', count: 1 },
          ],
        },
      },
    ]);
    report = await audit();
    expect(find(report.checks, 'blind-spot.stale-guardrail')).toEqual([
      expect.objectContaining({ status: 'pass' }),
    ]);
    expect(find(report.checks, 'blind-spot.no-control')).toEqual([
      expect.objectContaining({ status: 'pass' }),
    ]);

    // Ten quiet minutes later both guardrails watch nothing.
    clock.advance(10 * 60_000);
    report = await audit();
    expect(
      find(report.checks, 'blind-spot.stale-guardrail', 'watched').map((c) => c.numbers.guardrail),
    ).toEqual(['errors (relative)', 'latency (relative)']);
  });

  it('uses the stored traffic for the power of a running rollout', async () => {
    const { audit, signals, call, clock } = setup();
    await call('POST', '/api/admin/flags/watched/rollout/start', { body: {} });
    // Ten minutes of traffic: fewer would be too thin a rate to simulate.
    for (let m = 0; m < 10; m++) {
      const at = new Date(clock()).toISOString();
      await signals([
        { flag: 'watched', arm: 'control', at, requests: 300, errors: 1 },
        { flag: 'watched', arm: 'treatment', at, requests: 300, errors: 1 },
      ]);
      clock.advance(60_000);
    }
    const report = await audit('?traffic=50');
    const power = find(report.checks, 'power', 'watched');
    expect(power.length).toBe(3);
    for (const c of power.filter((c) => c.numbers.guardrail))
      expect(c.numbers).toMatchObject({
        trafficPerMinute: 600,
        trafficSource: 'stored signals (last 60 min)',
      });
    // Not running: --traffic applies.
    expect(find(report.checks, 'power', 'done')[0]?.numbers).toMatchObject({
      trafficPerMinute: 50,
      trafficSource: '--traffic',
    });
  });

  it('warns about a flag SDKs evaluate that no plan defines', async () => {
    const { audit, call } = setup();
    expect(find((await audit()).checks, 'blind-spot.unplanned-flag')).toEqual([
      expect.objectContaining({ status: 'pass' }),
    ]);
    const res = await call('POST', '/api/client/metrics', {
      token: testTokens.client,
      body: {
        appName: 'checkout',
        instanceId: 'i-1',
        bucket: {
          start: new Date().toISOString(),
          stop: new Date().toISOString(),
          toggles: { 'ghost.flag': { yes: 3, no: 2 } },
        },
      },
    });
    expect(res.status).toBe(202);
    expect(find((await audit()).checks, 'blind-spot.unplanned-flag')).toEqual([
      expect.objectContaining({
        status: 'warn',
        subject: 'ghost.flag',
        numbers: expect.objectContaining({ evaluations: 5 }),
      }),
    ]);
  });

  it('warns about flag debt after 30 days at 100 %, and keeps the overrides in the ledger', async () => {
    const { audit, call, clock } = setup();
    await call('POST', '/api/admin/flags/done/rollout/start', { body: {} });
    await call('POST', '/api/admin/flags/done/rollout/promote', { body: { to: 'full', reason: 'ship it' } });
    await call('POST', '/api/admin/flags/bare/disable', { body: { reason: 'page' } });
    expect(find((await audit()).checks, 'blind-spot.flag-debt')).toEqual([
      expect.objectContaining({ status: 'pass' }),
    ]);
    clock.advance(31 * 86_400_000);
    const report = await audit();
    expect(find(report.checks, 'blind-spot.flag-debt')).toEqual([
      expect.objectContaining({
        status: 'warn',
        subject: 'done',
        numbers: expect.objectContaining({ days: 31, percent: 100 }),
        action: expect.stringMatching(/remove the flag done and the old code path/),
      }),
    ]);
    expect(report.ledger.map((e) => e.kind)).toEqual(['promote-to-full', 'kill-switch']);
    const ledger = await (await call('GET', '/api/admin/audit/ledger')).json();
    expect(ledger.ledger).toEqual([
      expect.objectContaining({ kind: 'promote-to-full', flag: 'done', actor: 'ops', reason: 'ship it' }),
      expect.objectContaining({ kind: 'kill-switch', flag: 'bare', actor: 'ops' }),
    ]);
  });

  it('refuses a bad traffic figure and unknown options, and needs the admin token', async () => {
    const { call } = setup();
    const bad = await call('GET', '/api/admin/audit?traffic=-3');
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.message).toMatch(/traffic: must be more than 0/);
    expect((await call('GET', '/api/admin/audit?speed=1')).status).toBe(400);
    expect((await call('GET', '/api/admin/audit', { token: testTokens.client })).status).toBe(403);
    expect((await call('GET', '/api/admin/audit', { token: null })).status).toBe(401);
    expect((await call('POST', '/api/admin/audit/runs', { body: { force: true } })).status).toBe(400);
    expect((await (await call('GET', '/api/admin/audit/latest')).json()).run).toBeNull();
  });
});
