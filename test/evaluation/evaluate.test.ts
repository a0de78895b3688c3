// The evaluator end to end: reasons, injected randomness, strategies, dependencies, odd input.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { normalizedHash, VARIANT_SEED } from '../../src/evaluation/bucket.ts';
import { createEvaluator, evaluate } from '../../src/evaluation/evaluate.ts';
import type { UnleashFeature, UnleashStrategy } from '../../src/evaluation/types.ts';
import { testEnv } from './env.ts';

const feature = (
  name: string,
  strategies: UnleashStrategy[],
  rest: Partial<UnleashFeature> = {},
): UnleashFeature => ({
  name,
  enabled: true,
  strategies,
  ...rest,
});
const rollout = (percent: number, stickiness = 'default', groupId = 'g'): UnleashStrategy => ({
  name: 'flexibleRollout',
  parameters: { rollout: String(percent), stickiness, groupId },
});

/** A user id whose bucket in group `g` is above or at most the given percentage. */
function userWith(predicate: (bucket: number) => boolean): string {
  for (let i = 0; ; i++) if (predicate(normalizedHash(`u${i}`, 'g'))) return `u${i}`;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('evaluation reasons', () => {
  const variants = [
    {
      name: 'blue',
      weight: 500,
      stickiness: 'default',
      overrides: [{ contextName: 'userId', values: ['vip'] }],
    },
    { name: 'red', weight: 500, stickiness: 'default', payload: { type: 'string', value: 'r' } },
  ];
  const evaluator = createEvaluator(
    [
      feature('no-strategies', []),
      feature('default', [{ name: 'default' }]),
      feature('targeted', [
        { name: 'default', constraints: [{ contextName: 'userId', operator: 'IN', values: ['a'] }] },
      ]),
      feature('half', [rollout(50)]),
      feature('full', [rollout(100)]),
      feature('listed', [{ name: 'userWithId', parameters: { userIds: 'a, b' } }]),
      feature('off', [{ name: 'default' }], { enabled: false }),
      feature('with-variants', [{ name: 'default' }], { variants }),
      feature('malformed', null as unknown as UnleashStrategy[]),
    ],
    testEnv(),
  );
  const inside = userWith((b) => b <= 50);

  it('reports STATIC for no strategies and for an unconstrained default strategy', () => {
    expect(evaluator.evaluate('no-strategies', {})).toMatchObject({ enabled: true, reason: 'STATIC' });
    expect(evaluator.evaluate('default', {})).toMatchObject({ enabled: true, reason: 'STATIC' });
    expect(evaluator.evaluate('full', { userId: 'anyone' })).toMatchObject({
      enabled: true,
      reason: 'STATIC',
    });
  });

  it('reports TARGETING_MATCH for constraints and user lists', () => {
    expect(evaluator.evaluate('targeted', { userId: 'a' })).toMatchObject({
      enabled: true,
      reason: 'TARGETING_MATCH',
    });
    expect(evaluator.evaluate('listed', { userId: 'b' })).toMatchObject({
      enabled: true,
      reason: 'TARGETING_MATCH',
    });
  });

  it('reports SPLIT for a user inside a partial rollout', () => {
    expect(evaluator.evaluate('half', { userId: inside })).toMatchObject({ enabled: true, reason: 'SPLIT' });
  });

  it('reports DEFAULT with the disabled variant when no strategy matches', () => {
    expect(evaluator.evaluate('targeted', { userId: 'z' })).toEqual({
      enabled: false,
      variant: { name: 'disabled', enabled: false, feature_enabled: false },
      reason: 'DEFAULT',
    });
  });

  it('reports DISABLED for a flag switched off', () => {
    expect(evaluator.evaluate('off', { userId: 'a' })).toMatchObject({ enabled: false, reason: 'DISABLED' });
  });

  it('reports TARGETING_MATCH for a variant override and SPLIT for a weighted variant', () => {
    expect(evaluator.evaluate('with-variants', { userId: 'vip' })).toMatchObject({
      variant: { name: 'blue', enabled: true, feature_enabled: true },
      reason: 'TARGETING_MATCH',
    });
    const result = evaluator.evaluate('with-variants', { userId: 'someone' });
    expect(result.reason).toBe('SPLIT');
    const bucket = normalizedHash('someone', 'with-variants', 1000, VARIANT_SEED);
    expect(result.variant.name).toBe(bucket <= 500 ? 'blue' : 'red');
  });

  it('reports ERROR with FLAG_NOT_FOUND for an unknown flag and PARSE_ERROR for a malformed one', () => {
    expect(evaluator.evaluate('nope', {})).toMatchObject({
      enabled: false,
      reason: 'ERROR',
      errorCode: 'FLAG_NOT_FOUND',
    });
    expect(evaluator.evaluate('malformed', {})).toMatchObject({
      enabled: false,
      reason: 'ERROR',
      errorCode: 'PARSE_ERROR',
    });
  });
});

describe('randomness and environment', () => {
  it('takes random stickiness from the injected source, never from Math.random', () => {
    vi.spyOn(Math, 'random').mockImplementation(() => {
      throw new Error('Math.random must not be called');
    });
    const flags = [feature('r', [rollout(30, 'random')]), feature('d', [rollout(30, 'default')])];
    for (const r of [0, 0.25, 0.5, 0.9999]) {
      const evaluator = createEvaluator(flags, testEnv({ random: () => r }));
      const expected = normalizedHash(`${Math.round(r * 10000) + 1}`, 'g') <= 30;
      expect(evaluator.evaluate('r', { userId: 'ignored' }).enabled).toBe(expected);
      expect(evaluator.evaluate('d', {}).enabled).toBe(expected);
    }
  });

  it('draws gradualRolloutRandom from the injected source: 1..100 against the percentage', () => {
    const flags = [feature('coin', [{ name: 'gradualRolloutRandom', parameters: { percentage: '50' } }])];
    expect(createEvaluator(flags, testEnv({ random: () => 0.49 })).evaluate('coin', {}).enabled).toBe(true);
    expect(createEvaluator(flags, testEnv({ random: () => 0.5 })).evaluate('coin', {}).enabled).toBe(false);
  });

  it('buckets variants by a random value when the context has no stickiness value', () => {
    const variants = [
      { name: 'a', weight: 500, stickiness: 'default' },
      { name: 'b', weight: 500, stickiness: 'default' },
    ];
    const flags = [feature('v', [], { variants })];
    for (const r of [0.1, 0.7]) {
      const bucket = normalizedHash(String(Math.round(r * 100000)), 'v', 1000, VARIANT_SEED);
      const result = createEvaluator(flags, testEnv({ random: () => r })).evaluate('v', {});
      expect(result.variant.name).toBe(bucket <= 500 ? 'a' : 'b');
    }
  });

  it('matches applicationHostname against the injected hostname, case-insensitively', () => {
    const flags = [
      feature('h', [{ name: 'applicationHostname', parameters: { hostNames: 'web-1, API-2' } }]),
    ];
    expect(createEvaluator(flags, testEnv({ hostname: 'api-2' })).evaluate('h', {}).enabled).toBe(true);
    expect(createEvaluator(flags, testEnv({ hostname: 'web-3' })).evaluate('h', {}).enabled).toBe(false);
    expect(createEvaluator(flags, testEnv({ hostname: undefined })).evaluate('h', {}).enabled).toBe(false);
  });
});

describe('strategies', () => {
  it('turns a rollout off when its custom stickiness field is missing, rather than bucketing randomly', () => {
    const evaluator = createEvaluator([feature('t', [rollout(100, 'tenantId')])], testEnv());
    expect(evaluator.evaluate('t', { userId: 'u' }).enabled).toBe(false);
    expect(evaluator.evaluate('t', { properties: { tenantId: 'acme' } }).enabled).toBe(true);
  });

  it('prefers userId over sessionId for default stickiness', () => {
    const inside = userWith((b) => b <= 10);
    const outside = userWith((b) => b > 10);
    const evaluator = createEvaluator([feature('t', [rollout(10)])], testEnv());
    expect(evaluator.evaluate('t', { userId: inside, sessionId: outside }).enabled).toBe(true);
    expect(evaluator.evaluate('t', { userId: outside, sessionId: inside }).enabled).toBe(false);
    expect(evaluator.evaluate('t', { sessionId: inside }).enabled).toBe(true);
  });

  it('keeps every user who was in as the rollout percentage grows', () => {
    const ids = Array.from({ length: 500 }, (_, i) => `user-${i}`);
    let previous = new Set<string>();
    for (const percent of [1, 5, 10, 25, 50, 100]) {
      const evaluator = createEvaluator([feature('grow', [rollout(percent)])], testEnv());
      const current = new Set(ids.filter((id) => evaluator.evaluate('grow', { userId: id }).enabled));
      for (const id of previous) expect(current.has(id)).toBe(true);
      previous = current;
    }
    expect(previous.size).toBe(500);
  });

  it('matches remoteAddress by exact address or IPv4 range and skips bad ranges', () => {
    const flags = [
      feature('ip', [{ name: 'remoteAddress', parameters: { IPs: 'bogus, 10.0.0.0/8, 192.168.1.7' } }]),
    ];
    const evaluator = createEvaluator(flags, testEnv());
    expect(evaluator.evaluate('ip', { remoteAddress: '10.2.3.4' }).enabled).toBe(true);
    expect(evaluator.evaluate('ip', { remoteAddress: '192.168.1.7' }).enabled).toBe(true);
    expect(evaluator.evaluate('ip', { remoteAddress: '192.168.1.8' }).enabled).toBe(false);
    expect(evaluator.evaluate('ip', {}).enabled).toBe(false);
  });

  it('never matches a strategy it does not know, but still tries the next one', () => {
    const evaluator = createEvaluator(
      [feature('u', [{ name: 'custom-thing' }, { name: 'default' }])],
      testEnv(),
    );
    expect(evaluator.evaluate('u', {}).enabled).toBe(true);
    const only = createEvaluator([feature('u', [{ name: 'custom-thing' }])], testEnv());
    expect(only.evaluate('u', {})).toMatchObject({ enabled: false, reason: 'DEFAULT' });
  });

  it('serves strategy variants before feature variants, and feature variants when their weights sum to 0', () => {
    const strategyVariants = [{ name: 'from-strategy', weight: 1000, stickiness: 'default' }];
    const flags = [
      feature('s', [{ name: 'default', variants: strategyVariants }], {
        variants: [{ name: 'from-feature', weight: 1000 }],
      }),
      feature('z', [{ name: 'default', variants: [{ name: 'zero', weight: 0 }] }], {
        variants: [{ name: 'from-feature', weight: 1000 }],
      }),
    ];
    const evaluator = createEvaluator(flags, testEnv());
    expect(evaluator.evaluate('s', { userId: 'a' }).variant.name).toBe('from-strategy');
    expect(evaluator.evaluate('z', { userId: 'a' }).variant.name).toBe('from-feature');
  });
});

describe('dependencies', () => {
  const parentVariants = [{ name: 'green', weight: 1000, stickiness: 'default' }];
  const flags = [
    feature('parent-on', [], { variants: parentVariants }),
    feature('parent-off', [], { enabled: false }),
    feature('middle', [], { dependencies: [{ feature: 'parent-on' }] }),
    feature('needs-on', [], { dependencies: [{ feature: 'parent-on' }] }),
    feature('needs-off', [], { dependencies: [{ feature: 'parent-off', enabled: false }] }),
    feature('needs-green', [], { dependencies: [{ feature: 'parent-on', variants: ['green'] }] }),
    feature('needs-blue', [], { dependencies: [{ feature: 'parent-on', variants: ['blue'] }] }),
    feature('needs-missing', [], { dependencies: [{ feature: 'ghost' }] }),
    feature('needs-two-levels', [], { dependencies: [{ feature: 'middle' }] }),
  ];
  const evaluator = createEvaluator(flags, testEnv());

  it('is on only when each parent is in the required state', () => {
    expect(evaluator.evaluate('needs-on', {}).enabled).toBe(true);
    expect(evaluator.evaluate('needs-off', {}).enabled).toBe(true);
    expect(evaluator.evaluate('needs-green', {}).enabled).toBe(true);
    expect(evaluator.evaluate('needs-blue', {})).toMatchObject({ enabled: false, reason: 'DEFAULT' });
  });

  it('is off when a parent is missing or itself has dependencies (one level only)', () => {
    expect(evaluator.evaluate('needs-missing', {}).enabled).toBe(false);
    expect(evaluator.evaluate('needs-two-levels', {}).enabled).toBe(false);
  });

  it('resolves parents from the feature set given to the standalone evaluate', () => {
    const child = feature('child', [], { dependencies: [{ feature: 'parent-on' }] });
    expect(evaluate(child, {}, { ...testEnv(), features: flags }).enabled).toBe(true);
    expect(evaluate(child, {}, testEnv())).toMatchObject({ enabled: false, reason: 'DEFAULT' });
  });
});

describe('odd input', () => {
  it('returns data instead of throwing', () => {
    const odd = [
      null,
      { name: 'no-params', enabled: true, strategies: [{ name: 'flexibleRollout' }, { name: 'userWithId' }] },
      { name: 'null-strategy', enabled: true, strategies: [null] },
      {
        name: 'weird-variants',
        enabled: true,
        strategies: [],
        variants: [null, { name: 'x' }, { name: 'y', weight: 0 }],
      },
      { name: 'bad-constraints', enabled: true, strategies: [{ name: 'default', constraints: [null, 7] }] },
      { name: 'bad-deps', enabled: true, strategies: [], dependencies: [null, { feature: 7 }] },
    ] as unknown as UnleashFeature[];
    const evaluator = createEvaluator(odd, testEnv());
    for (const name of ['no-params', 'null-strategy', 'weird-variants', 'bad-constraints', 'bad-deps']) {
      expect(() => evaluator.evaluate(name, null as never)).not.toThrow();
      expect(typeof evaluator.evaluate(name, {}).enabled).toBe('boolean');
    }
    expect(evaluator.evaluate('null-strategy', {})).toMatchObject({
      reason: 'ERROR',
      errorCode: 'PARSE_ERROR',
    });
    expect(evaluate(null as unknown as UnleashFeature, {}, testEnv())).toMatchObject({
      errorCode: 'PARSE_ERROR',
    });
  });
});

describe('payloads', () => {
  it('keeps serving the compiled payload after the source document changes, and hands it out frozen', () => {
    const payload = { type: 'string', value: 'original' };
    const source = [feature('p', [], { variants: [{ name: 'only', weight: 1000, payload }] })];
    const evaluator = createEvaluator(source, testEnv());
    payload.value = 'changed in the source document';
    const first = evaluator.evaluate('p', { userId: 'a' });
    expect(Object.isFrozen(first.variant.payload)).toBe(true);
    expect(evaluator.evaluate('p', { userId: 'a' }).variant.payload).toEqual({
      type: 'string',
      value: 'original',
    });
  });
});

describe('evaluateAll', () => {
  it('evaluates every flag in document order with its impressionData', () => {
    const evaluator = createEvaluator(
      [feature('b', [], { impressionData: true }), feature('a', [], { enabled: false })],
      testEnv(),
    );
    expect(evaluator.evaluateAll({})).toEqual([
      {
        name: 'b',
        impressionData: true,
        enabled: true,
        variant: { name: 'disabled', enabled: false, feature_enabled: true },
        reason: 'STATIC',
      },
      {
        name: 'a',
        impressionData: false,
        enabled: false,
        variant: { name: 'disabled', enabled: false, feature_enabled: false },
        reason: 'DISABLED',
      },
    ]);
  });
});
