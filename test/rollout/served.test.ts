import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePlanText } from '../../src/plans/load.ts';
import type { Plan } from '../../src/plans/schema.ts';
import type { Flag } from '../../src/rollout/controller.ts';
import { toUnleashFeature, variantWeights } from '../../src/rollout/served.ts';
import { type FlagState, initialState, servedPercent } from '../../src/rollout/state.ts';
import { buildRollgate, makeFlagsDir, testTokens } from '../helpers/rollgate.ts';
import { sdkPlanFiles, sdkPlansDir } from '../helpers/sdk-server.ts';

function plan(file: string): Plan {
  const parsed = parsePlanText(fs.readFileSync(path.join(sdkPlansDir, file), 'utf8'), file);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.plan;
}

function flag(p: Plan, state: Partial<FlagState> = {}): Flag {
  const s = { ...initialState(p, 0), ...state };
  return { plan: p, file: `${p.name}.yaml`, state: s, percent: servedPercent(p, s) };
}

describe('variant weights', () => {
  it('splits equal weights as the Unleash server does: the remainder goes to the first variants', () => {
    expect(variantWeights([33.4, 33.3, 33.3])).toEqual([334, 333, 333]);
    expect(variantWeights([100 / 3, 100 / 3, 100 / 3])).toEqual([334, 333, 333]);
    expect(variantWeights([50, 50])).toEqual([500, 500]);
    expect(variantWeights([100])).toEqual([1000]);
  });

  it('keeps uneven percentages and still sums to exactly 1000', () => {
    expect(variantWeights([20, 30.5, 49.5])).toEqual([200, 305, 495]);
    const odd = variantWeights([12.34, 56.78, 30.88]);
    expect(odd.reduce((a, b) => a + b, 0)).toBe(1000);
    expect(odd.every(Number.isInteger)).toBe(true);
  });
});

describe('plans served as Unleash features', () => {
  it('serves a running rollout as a flexibleRollout at the stage percent, grouped by flag, with string parameters', () => {
    const f = toUnleashFeature(flag(plan('xcheck.p25.yaml'), { phase: 'progressing', stage: 0 }));
    expect(f).toMatchObject({ name: 'xcheck.p25', enabled: true, type: 'experiment', project: 'default' });
    expect(f.strategies).toEqual([
      expect.objectContaining({
        name: 'flexibleRollout',
        constraints: [],
        parameters: { rollout: '25', stickiness: 'userId', groupId: 'xcheck.p25' },
      }),
    ]);
    for (const value of Object.values(f.strategies[0]?.parameters ?? {})) expect(typeof value).toBe('string');
  });

  it('sorts variants by name with integer weights out of 1000, variable, with the plan stickiness', () => {
    const f = toUnleashFeature(flag(plan('xcheck.p25.yaml'), { phase: 'progressing' }));
    expect(f.variants).toEqual([
      { name: 'blue', weight: 305, weightType: 'variable', stickiness: 'userId', overrides: [] },
      {
        name: 'green',
        weight: 495,
        weightType: 'variable',
        stickiness: 'userId',
        overrides: [],
        payload: { type: 'json', value: '{"shade": 3}' },
      },
      {
        name: 'red',
        weight: 200,
        weightType: 'variable',
        stickiness: 'userId',
        overrides: [],
        payload: { type: 'string', value: 'crimson' },
      },
    ]);
  });

  it.each([
    ['not started', { phase: 'ready' as const }],
    ['rolled back', { phase: 'rolled-back' as const }],
    ['killed', { phase: 'progressing' as const, enabled: false }],
  ])('serves a %s rollout as disabled, still with a well-formed strategy', (_label, state) => {
    const f = toUnleashFeature(flag(plan('xcheck.p50.yaml'), state));
    expect(f.enabled).toBe(false);
    expect(f.strategies[0]?.parameters?.rollout).toBe('0');
    expect(Array.isArray(f.strategies[0]?.constraints)).toBe(true);
  });

  it('serves a completed rollout at 100 % less the holdback', () => {
    const p = { ...plan('xcheck.p5.yaml') };
    p.rollout = { ...(p.rollout as NonNullable<Plan['rollout']>), holdback: 5 };
    const f = toUnleashFeature(flag(p, { phase: 'completed', stage: 1 }));
    expect(f).toMatchObject({ enabled: true });
    expect(f.strategies[0]?.parameters?.rollout).toBe('95');
  });

  it('serves constraints with values lists and flags, and plan dependencies as feature dependencies', () => {
    const f = toUnleashFeature(flag(plan('demo.targeted.yaml')));
    expect(f.strategies[0]?.constraints).toEqual([
      { contextName: 'region', operator: 'IN', values: ['eu', 'EU'], inverted: false, caseInsensitive: true },
    ]);
    expect(f.dependencies).toEqual([{ feature: 'demo.kill', enabled: true }]);
    expect(toUnleashFeature(flag(plan('demo.toggle.yaml')))).toMatchObject({ enabled: false, variants: [] });
    expect(toUnleashFeature(flag(plan('demo.kill.yaml'))).strategies[0]?.parameters?.rollout).toBe('100');
  });
});

describe('the served document', () => {
  it('is rebuilt once per change with a new ETag and a larger revision, and knows the delta since a revision', async () => {
    const { rg, call } = buildRollgate({ flagsDir: makeFlagsDir(sdkPlanFiles) });
    try {
      const first = rg.served.current();
      expect(rg.served.current()).toBe(first);
      expect(JSON.parse(first.body)).toMatchObject({
        version: 2,
        segments: [],
        meta: { revisionId: first.revision },
      });

      await call('POST', '/api/admin/flags/demo.kill/disable', { token: testTokens.admin });
      const second = rg.served.current();
      expect(second.revision).toBeGreaterThan(first.revision);
      expect(second.etag).not.toBe(first.etag);
      expect(rg.served.deltaSince(first.revision)).toEqual({
        updated: [expect.objectContaining({ name: 'demo.kill', enabled: false })],
        removed: [],
      });
      expect(rg.served.deltaSince(second.revision)).toEqual({ updated: [], removed: [] });
      // A revision from before this process started (or from the future) cannot be resumed.
      expect(rg.served.deltaSince(first.revision - 1)).toBeUndefined();
      expect(rg.served.deltaSince(second.revision + 1)).toBeUndefined();

      // A change that does not alter what is served keeps the document.
      await call('POST', '/api/admin/flags/demo.kill/disable', { token: testTokens.admin });
      expect(rg.served.current()).toBe(second);
      // An event that changes nothing served: the check sees it once, a refresh reads it, and then it is quiet
      // (the replicas' periodic check does not rebuild on every tick for it).
      rg.controller.events.append({
        at: Date.now(),
        flag: 'demo.kill',
        type: 'note',
        actor: 'test',
        reason: null,
        data: {},
      });
      expect(rg.served.behind()).toBe(true);
      rg.served.refresh();
      expect(rg.served.current()).toBe(second);
      expect(rg.served.behind()).toBe(false);
    } finally {
      await rg.stop();
    }
  });

  it('keeps growing its revision across a restart on the same database', async () => {
    const flagsDir = makeFlagsDir(sdkPlanFiles);
    const first = buildRollgate({ flagsDir });
    await first.call('POST', '/api/admin/flags/demo.kill/disable');
    const before = first.rg.served.current().revision;
    await first.rg.stop();
    const second = buildRollgate({ flagsDir, dataDir: first.config.dataDir });
    try {
      expect(second.rg.served.current().revision).toBeGreaterThanOrEqual(before);
      await second.call('POST', '/api/admin/flags/demo.kill/enable');
      expect(second.rg.served.current().revision).toBeGreaterThan(before);
    } finally {
      await second.rg.stop();
    }
  });
});
