// Differential test: generated feature sets evaluated by unleash-client and by Rollgate must agree.
import { hostname } from 'node:os';
import type { Context, Unleash } from 'unleash-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEvaluator } from '../../src/evaluation/evaluate.ts';
import { bootstrappedSdk } from '../../src/evaluation/sdk-peer.ts';
import type {
  UnleashConstraint,
  UnleashContext,
  UnleashFeature,
  UnleashSegment,
  UnleashStrategy,
  UnleashVariant,
} from '../../src/evaluation/types.ts';
import { seededRandom } from './env.ts';

const random = seededRandom(2024);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
const chance = (p: number) => random() < p;
const some = <T>(max: number, make: () => T): T[] =>
  Array.from({ length: Math.floor(random() * (max + 1)) }, make);

const pools = {
  userId: ['u1', 'u2', '174', '499', 'vip', 'ü-user', '日本語', 'user-😀', 'José'],
  sessionId: ['s1', 's2', 's-ü', 's-42', 'session-😀'],
  remoteAddress: ['10.1.2.3', '192.168.1.7', '2001:db8::1', 'not-an-ip'],
  tenant: ['acme', 'globex', 'ÆØÅ'],
  country: ['NO', 'no', 'SE'],
  version: ['1.2.3', '1.2.3-beta.2', 'v1.2.3', '2.0.0', '1.2', '10.0.0-rc.1+build'],
  age: ['0', '17', '18', '42.5', '', 'abc'],
  email: ['admin@acme.io', 'ADMIN@ACME.IO', 'user@globex.com', 'x@y'],
  date: ['2001-01-01T00:00:00Z', '2022-01-29T13:00:00Z', '2099-12-31T00:00:00Z', 'garbage'],
  currentTime: ['2022-01-28T00:00:00Z', '2022-02-01T00:00:00.000+02:00'],
  cidr: ['10.0.0.0/8', '192.168.1.7', '2001:db8::/32', '::/0', 'garbage', '172.16.0.0/12'],
  regex: ['^admin', 'acme\\.io$', '(a)\\1', '[', '^[a-z]+@', '日本', '.*'],
};

const listOperators = ['IN', 'NOT_IN', 'STR_STARTS_WITH', 'STR_ENDS_WITH', 'STR_CONTAINS'];
const numberOperators = ['NUM_EQ', 'NUM_GT', 'NUM_GTE', 'NUM_LT', 'NUM_LTE'];
const semverOperators = ['SEMVER_EQ', 'SEMVER_GT', 'SEMVER_GTE', 'SEMVER_LT', 'SEMVER_LTE'];

function constraint(): UnleashConstraint {
  const flags = { inverted: chance(0.3), caseInsensitive: chance(0.3) };
  switch (pick(['list', 'num', 'semver', 'date', 'regex', 'cidr', 'unknown'])) {
    case 'list': {
      const field = pick(['userId', 'country', 'email', 'tenant', 'appName'] as const);
      const pool: readonly string[] = field === 'appName' ? ['web', 'ios'] : pools[field];
      return {
        contextName: field,
        operator: pick(listOperators),
        values: some(3, () => pick(pool)),
        ...flags,
      };
    }
    case 'num':
      return { contextName: 'age', operator: pick(numberOperators), value: pick(pools.age), ...flags };
    case 'semver':
      return {
        contextName: 'version',
        operator: pick(semverOperators),
        value: pick(pools.version),
        ...flags,
      };
    case 'date':
      return {
        contextName: 'currentTime',
        operator: pick(['DATE_AFTER', 'DATE_BEFORE']),
        value: pick(pools.date),
        ...flags,
      };
    case 'regex':
      return {
        contextName: pick(['email', 'userId']),
        operator: 'REGEX',
        value: pick(pools.regex),
        ...flags,
      };
    case 'cidr':
      return {
        contextName: 'remoteAddress',
        operator: 'IN_CIDR',
        values: some(3, () => pick(pools.cidr)),
        ...flags,
      };
    default:
      return { contextName: 'userId', operator: 'NOT_A_VALID_OPERATOR', values: ['u1'], ...flags };
  }
}

/** Stickiness choices that never fall back to Math.random inside the SDK (sessionId and tenant are always set). */
const variantStickiness = ['default', 'sessionId', 'tenant'];

function variants(max: number, withOverrides: boolean): UnleashVariant[] {
  const stickiness = pick(variantStickiness);
  return some(max, () => ({
    name: pick(['red', 'green', 'blue', 'control', 'treatment']),
    weight: pick([0, 100, 333, 500, 1000]),
    weightType: 'variable' as const,
    stickiness,
    ...(chance(0.5) ? { payload: { type: 'json', value: `{"n":${Math.floor(random() * 9)}}` } } : {}),
    ...(withOverrides && chance(0.3)
      ? { overrides: [{ contextName: 'userId', values: ['vip', 'u2'] }] }
      : {}),
  }));
}

function strategy(name: string): UnleashStrategy {
  const percent = String(pick([0, 1, 10, 33, 50, 99, 100]));
  const groupId = chance(0.8) ? `g-${Math.floor(random() * 5)}` : '';
  const parameters: Record<string, Record<string, string>> = {
    flexibleRollout: {
      rollout: percent,
      groupId,
      stickiness: pick(['default', 'userId', 'sessionId', 'tenant']),
    },
    gradualRolloutUserId: { percentage: percent, groupId },
    gradualRolloutSessionId: { percentage: percent, groupId },
    gradualRolloutRandom: { percentage: pick(['0', '100']) },
    userWithId: { userIds: 'u1, vip,José ,user-😀' },
    remoteAddress: { IPs: '10.0.0.0/8, 192.168.1.7, bogus' },
    applicationHostname: { hostNames: `other-host, ${hostname().toUpperCase()}` },
  };
  return {
    name,
    parameters: parameters[name] ?? {},
    constraints: some(2, constraint),
    ...(chance(0.2) ? { segments: [pick([1, 2, 3, 99])] } : {}),
    ...(chance(0.3) ? { variants: variants(3, false) } : {}),
  };
}

const strategyNames = [
  'default',
  'flexibleRollout',
  'gradualRolloutUserId',
  'gradualRolloutSessionId',
  'gradualRolloutRandom',
  'userWithId',
  'remoteAddress',
  'applicationHostname',
  'unknownStrategy',
];

const segments: UnleashSegment[] = [1, 2, 3].map((id) => ({ id, constraints: some(2, constraint) }));
const features: UnleashFeature[] = [];
for (let i = 0; i < 250; i++) {
  const name = `flag-${i}${chance(0.1) ? '-ü' : ''}`;
  const earlier = features.length > 0 && chance(0.2) ? pick(features).name : undefined;
  features.push({
    name,
    type: 'release',
    project: 'default',
    stale: false,
    impressionData: false,
    enabled: chance(0.85),
    strategies: chance(0.1)
      ? []
      : some(2, () => strategy(pick(strategyNames))).concat(strategy(pick(strategyNames))),
    variants: chance(0.4) ? variants(4, true) : [],
    ...(earlier
      ? {
          dependencies: [
            {
              feature: chance(0.1) ? 'ghost' : earlier,
              enabled: chance(0.8),
              ...(chance(0.3) ? { variants: ['red', 'green'] } : {}),
            },
          ],
        }
      : {}),
  });
}

const contexts: UnleashContext[] = Array.from({ length: 120 }, () => ({
  appName: pick(['web', 'ios']),
  environment: 'default',
  sessionId: pick(pools.sessionId),
  ...(chance(0.8) ? { userId: pick(pools.userId) } : {}),
  ...(chance(0.7) ? { remoteAddress: pick(pools.remoteAddress) } : {}),
  ...(chance(0.6) ? { currentTime: pick(pools.currentTime) } : {}),
  properties: {
    tenant: pick(pools.tenant),
    ...(chance(0.7) ? { country: pick(pools.country) } : {}),
    ...(chance(0.7) ? { version: pick(pools.version) } : {}),
    ...(chance(0.7) ? { age: pick(pools.age) } : {}),
    ...(chance(0.7) ? { email: pick(pools.email) } : {}),
  },
}));

/** Key order and an absent-versus-undefined payload are not differences. */
function canonical(v: {
  name: string;
  enabled: boolean;
  feature_enabled?: boolean;
  payload?: unknown;
}): string {
  return JSON.stringify([v.name, v.enabled, v.feature_enabled, v.payload ?? null]);
}

describe('parity with unleash-client 6.12.1', () => {
  let sdk: Unleash;

  beforeAll(async () => {
    sdk = await bootstrappedSdk('parity', features, segments);
  });

  afterAll(() => sdk.destroy());

  it('returns the same enabled state and variant for every generated flag and context', () => {
    const evaluator = createEvaluator(features, {
      segments,
      random: seededRandom(5),
      now: () => Date.now(),
      hostname: process.env.HOSTNAME || hostname(),
    });
    const mismatches: string[] = [];
    let compared = 0;
    for (const context of contexts) {
      for (const { name } of features) {
        const ours = evaluator.evaluate(name, context);
        const enabled = sdk.isEnabled(name, context as Context);
        const variant = canonical(sdk.getVariant(name, context as Context));
        compared++;
        if (ours.enabled !== enabled || canonical(ours.variant) !== variant) {
          mismatches.push(
            `${name} ${JSON.stringify(context)}: sdk ${enabled} ${variant}, ours ${JSON.stringify(ours)}`,
          );
        }
      }
    }
    const on = contexts.reduce((n, ctx) => n + evaluator.evaluateAll(ctx).filter((f) => f.enabled).length, 0);
    console.log(
      `sdk parity: ${compared} evaluations compared, ${on} enabled, ${mismatches.length} mismatches`,
    );
    expect(mismatches.slice(0, 5)).toEqual([]);
    expect(on).toBeGreaterThan(compared / 10);
  });
});
