// Constraint operators and segments, each edge case checked against unleash-client's Strategy too.
import type { Context } from 'unleash-client';
import { type Constraint, Strategy } from 'unleash-client/lib/strategy/strategy.js';
import { describe, expect, it } from 'vitest';
import {
  compileConstraint,
  compileConstraints,
  createSegmentLookup,
} from '../../src/evaluation/constraints.ts';
import type { UnleashConstraint, UnleashContext } from '../../src/evaluation/types.ts';
import { FIXED_NOW, testEnv } from './env.ts';

const env = testEnv();
const sdk = new Strategy('parity');

type Case = [description: string, constraint: UnleashConstraint, context: UnleashContext, expected: boolean];

const c = (
  contextName: string,
  operator: string,
  rest: Partial<UnleashConstraint> = {},
): UnleashConstraint => ({
  contextName,
  operator,
  ...rest,
});

const cases: Case[] = [
  [
    'IN trims values and drops empty ones',
    c('userId', 'IN', { values: [' a ', '', 'b'] }),
    { userId: 'a' },
    true,
  ],
  ['IN is false when the field is missing', c('userId', 'IN', { values: ['a'] }), {}, false],
  ['NOT_IN is true when the field is missing', c('userId', 'NOT_IN', { values: ['a'] }), {}, true],
  [
    'IN ignores caseInsensitive',
    c('userId', 'IN', { values: ['A'], caseInsensitive: true }),
    { userId: 'a' },
    false,
  ],
  ['IN reads properties', c('country', 'IN', { values: ['NO'] }), { properties: { country: 'NO' } }, true],
  [
    'a top-level field wins over a property of the same name',
    c('userId', 'IN', { values: ['b'] }),
    { userId: 'a', properties: { userId: 'b' } },
    false,
  ],
  [
    'a numeric property is compared as a string',
    c('age', 'IN', { values: ['42'] }),
    { properties: { age: 42 } },
    true,
  ],
  [
    'inverted IN on a member is false',
    c('userId', 'IN', { values: ['a'], inverted: true }),
    { userId: 'a' },
    false,
  ],
  [
    'STR_STARTS_WITH folds case when asked',
    c('email', 'STR_STARTS_WITH', { values: ['ADMIN'], caseInsensitive: true }),
    { properties: { email: 'admin@x.io' } },
    true,
  ],
  [
    'STR_STARTS_WITH is case sensitive by default',
    c('email', 'STR_STARTS_WITH', { values: ['ADMIN'] }),
    { properties: { email: 'admin@x.io' } },
    false,
  ],
  [
    'STR_ENDS_WITH trims its values',
    c('email', 'STR_ENDS_WITH', { values: [' @x.io '] }),
    { properties: { email: 'a@x.io' } },
    true,
  ],
  ['STR_CONTAINS on a missing field is false', c('email', 'STR_CONTAINS', { values: ['x'] }), {}, false],
  [
    'inverted STR_CONTAINS on a missing field is true',
    c('email', 'STR_CONTAINS', { values: ['x'], inverted: true }),
    {},
    true,
  ],
  ['NUM_EQ compares numerically', c('n', 'NUM_EQ', { value: '1.0' }), { properties: { n: '1' } }, true],
  [
    'NUM_EQ treats an empty context value as 0, as the SDK does',
    c('n', 'NUM_EQ', { value: '0' }),
    { properties: { n: '' } },
    true,
  ],
  ['NUM_GT on a missing field is false', c('n', 'NUM_GT', { value: '1' }), {}, false],
  ['inverted NUM_GT on a missing field is true', c('n', 'NUM_GT', { value: '1', inverted: true }), {}, true],
  [
    'NUM_LT with a non-numeric constraint value is false',
    c('n', 'NUM_LT', { value: 'abc' }),
    { properties: { n: '1' } },
    false,
  ],
  ['NUM_LTE includes equality', c('n', 'NUM_LTE', { value: '5' }), { properties: { n: '5' } }, true],
  [
    'DATE_AFTER reads currentTime from the context',
    c('currentTime', 'DATE_AFTER', { value: '2022-01-29T13:00:00.000Z' }),
    { currentTime: '2022-01-30T13:00:00.000Z' },
    true,
  ],
  [
    'DATE_BEFORE honours timezone offsets',
    c('currentTime', 'DATE_BEFORE', { value: '2022-01-22T14:00:00.000+02:00' }),
    { currentTime: '2022-01-22T11:30:00.000Z' },
    true,
  ],
  [
    'DATE_AFTER accepts a Date in the context',
    c('currentTime', 'DATE_AFTER', { value: '2022-01-01T00:00:00Z' }),
    { currentTime: new Date('2023-01-01T00:00:00Z') },
    true,
  ],
  [
    'DATE_AFTER with an invalid date is false',
    c('currentTime', 'DATE_AFTER', { value: 'not a date' }),
    { currentTime: '2022-01-30T13:00:00.000Z' },
    false,
  ],
  [
    'inverted DATE_AFTER with an invalid date is true',
    c('currentTime', 'DATE_AFTER', { value: 'not a date', inverted: true }),
    { currentTime: '2022-01-30T13:00:00.000Z' },
    true,
  ],
  [
    'SEMVER_LT orders a prerelease before its release',
    c('version', 'SEMVER_LT', { value: '1.2.3' }),
    { properties: { version: '1.2.3-beta.2' } },
    true,
  ],
  [
    'SEMVER_GT orders prerelease identifiers',
    c('version', 'SEMVER_GT', { value: '1.2.3-beta.2' }),
    { properties: { version: '1.2.3-beta.10' } },
    true,
  ],
  [
    'SEMVER_EQ ignores build metadata',
    c('version', 'SEMVER_EQ', { value: '1.2.3' }),
    { properties: { version: '1.2.3+build.5' } },
    true,
  ],
  [
    'SEMVER rejects a context version with a v prefix',
    c('version', 'SEMVER_EQ', { value: '1.2.3' }),
    { properties: { version: 'v1.2.3' } },
    false,
  ],
  [
    'SEMVER rejects an incomplete context version',
    c('version', 'SEMVER_GTE', { value: '1.0.0' }),
    { properties: { version: '1.2' } },
    false,
  ],
  [
    'SEMVER with an invalid constraint version is false',
    c('version', 'SEMVER_GTE', { value: 'one' }),
    { properties: { version: '1.2.3' } },
    false,
  ],
  [
    'inverted SEMVER with an invalid constraint version is true',
    c('version', 'SEMVER_GTE', { value: 'one', inverted: true }),
    { properties: { version: '1.2.3' } },
    true,
  ],
  [
    'REGEX finds a match anywhere in the value',
    c('email', 'REGEX', { value: 'abc' }),
    { properties: { email: 'xabcx' } },
    true,
  ],
  [
    'REGEX honours anchors',
    c('email', 'REGEX', { value: '^abc$' }),
    { properties: { email: 'xabcx' } },
    false,
  ],
  [
    'REGEX folds case when asked',
    c('email', 'REGEX', { value: '^ADMIN@', caseInsensitive: true }),
    { properties: { email: 'admin@x.io' } },
    true,
  ],
  [
    'REGEX uses RE2, which rejects backreferences',
    c('word', 'REGEX', { value: '(a)\\1' }),
    { properties: { word: 'aa' } },
    false,
  ],
  [
    'REGEX uses RE2, which rejects lookahead',
    c('word', 'REGEX', { value: 'a(?=b)' }),
    { properties: { word: 'ab' } },
    false,
  ],
  [
    'inverted REGEX with a pattern RE2 rejects is true',
    c('word', 'REGEX', { value: '(a)\\1', inverted: true }),
    { properties: { word: 'aa' } },
    true,
  ],
  [
    'REGEX with an unbalanced pattern is false',
    c('word', 'REGEX', { value: '(' }),
    { properties: { word: '(' } },
    false,
  ],
  ['REGEX on a missing field is false', c('word', 'REGEX', { value: '.*' }), {}, false],
  [
    'REGEX matches non-ASCII text',
    c('name', 'REGEX', { value: '^Jos[ée]$' }),
    { properties: { name: 'José' } },
    true,
  ],
  [
    'IN_CIDR matches an address inside an IPv4 range',
    c('remoteAddress', 'IN_CIDR', { values: ['10.0.0.0/8'] }),
    { remoteAddress: '10.1.2.3' },
    true,
  ],
  [
    'IN_CIDR matches an exact address without a prefix',
    c('remoteAddress', 'IN_CIDR', { values: ['192.168.1.1'] }),
    { remoteAddress: '192.168.1.1' },
    true,
  ],
  [
    'IN_CIDR matches inside an IPv6 range',
    c('remoteAddress', 'IN_CIDR', { values: ['2001:db8::/32'] }),
    { remoteAddress: '2001:db8::1' },
    true,
  ],
  [
    'IN_CIDR does not mix address families',
    c('remoteAddress', 'IN_CIDR', { values: ['::/0'] }),
    { remoteAddress: '10.0.0.1' },
    false,
  ],
  [
    'IN_CIDR skips an invalid range and tries the next',
    c('remoteAddress', 'IN_CIDR', { values: ['garbage', '10.0.0.0/8'] }),
    { remoteAddress: '10.9.9.9' },
    true,
  ],
  [
    'IN_CIDR with an invalid context address is false',
    c('remoteAddress', 'IN_CIDR', { values: ['10.0.0.0/8'] }),
    { remoteAddress: 'not-an-ip' },
    false,
  ],
  [
    'IN_CIDR reads custom properties',
    c('clientIp', 'IN_CIDR', { values: ['172.16.0.0/12'] }),
    { properties: { clientIp: '172.20.1.1' } },
    true,
  ],
  [
    'an unknown operator is false',
    c('userId', 'NOT_A_VALID_OPERATOR', { values: ['a'] }),
    { userId: 'a' },
    false,
  ],
  [
    'an unknown operator stays false when inverted',
    c('userId', 'NOT_A_VALID_OPERATOR', { values: ['a'], inverted: true }),
    { userId: 'a' },
    false,
  ],
  ['operators are case sensitive', c('userId', 'in', { values: ['a'] }), { userId: 'a' }, false],
  [
    'an operator named like an Object method is unknown',
    c('userId', 'toString', { values: ['a'] }),
    { userId: 'a' },
    false,
  ],
];

describe('constraints', () => {
  for (const [description, constraint, context, expected] of cases) {
    it(`${description} (same as unleash-client)`, () => {
      expect(compileConstraint(constraint)(context, env)).toBe(expected);
      expect(sdk.checkConstraint(constraint as Constraint, context as Context)).toBe(expected);
    });
  }

  it('DATE_* falls back to the injected clock when the context has no currentTime', () => {
    const dateBefore = compileConstraint(c('currentTime', 'DATE_BEFORE', { value: '2026-01-01T00:00:01Z' }));
    expect(dateBefore({}, env)).toBe(true);
    expect(dateBefore({}, testEnv({ now: () => FIXED_NOW + 2000 }))).toBe(false);
  });

  it('treats missing values and a null constraint as non-matching instead of throwing', () => {
    expect(compileConstraint(c('userId', 'IN'))({ userId: 'a' }, env)).toBe(false);
    expect(compileConstraint(c('userId', 'NOT_IN'))({ userId: 'a' }, env)).toBe(true);
    expect(compileConstraint(null)({}, env)).toBe(false);
  });
});

describe('segments', () => {
  const lookup = createSegmentLookup([
    { id: 1, constraints: [c('appName', 'IN', { values: ['web'] })] },
    { id: 2, constraints: [] },
  ]);

  it('requires every segment constraint as well as the strategy constraints', () => {
    const all = compileConstraints([c('userId', 'IN', { values: ['a'] })], [1], lookup);
    expect(all?.({ userId: 'a', appName: 'web' }, env)).toBe(true);
    expect(all?.({ userId: 'a', appName: 'ios' }, env)).toBe(false);
    expect(all?.({ userId: 'b', appName: 'web' }, env)).toBe(false);
  });

  it('never matches when a referenced segment is missing from the document', () => {
    expect(compileConstraints([], [99], lookup)?.({ appName: 'web' }, env)).toBe(false);
  });

  it('compiles to nothing when there are no constraints at all', () => {
    expect(compileConstraints(undefined, [2], lookup)).toBeUndefined();
  });
});
