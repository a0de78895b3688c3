// Constraint operators, compiled once per constraint; each mirrors unleash-client 6.12 to the edge case.
import { Address4, Address6 } from 'ip-address';
import { RE2JS } from 're2js';
import semver from 'semver';
import { resolveContextValue } from './context-value.ts';
import type { EvaluationEnv, UnleashConstraint, UnleashContext } from './types.ts';

export type Predicate = (context: UnleashContext, env: EvaluationEnv) => boolean;

/** Constant false, shared so compiled lists can recognise a constraint that can never hold. */
export const never: Predicate = () => false;

/** Empty values are dropped and the rest trimmed, as the SDK does before comparing. */
function cleanValues(values: unknown): string[] {
  if (!Array.isArray(values)) return [];
  const out: string[] = [];
  for (const v of values) if (v) out.push(String(v).trim());
  return out;
}

function inList(field: string, values: string[], negate: boolean): Predicate {
  const set = new Set(values);
  return (ctx) => {
    const value = resolveContextValue(ctx, field);
    return (value !== undefined && set.has(value)) !== negate;
  };
}

type StringTest = (value: string, candidate: string) => boolean;
const stringTests = new Map<string, StringTest>([
  ['STR_STARTS_WITH', (value, candidate) => value.startsWith(candidate)],
  ['STR_ENDS_WITH', (value, candidate) => value.endsWith(candidate)],
  ['STR_CONTAINS', (value, candidate) => value.includes(candidate)],
]);

function stringOperator(
  field: string,
  values: string[],
  test: StringTest,
  caseInsensitive: boolean,
): Predicate {
  const candidates = caseInsensitive ? values.map((v) => v.toLocaleLowerCase()) : values;
  return (ctx) => {
    let value = resolveContextValue(ctx, field);
    if (value === undefined) return false;
    if (caseInsensitive) value = value.toLocaleLowerCase();
    for (const candidate of candidates) if (test(value, candidate)) return true;
    return false;
  };
}

function regexOperator(field: string, pattern: unknown, caseInsensitive: boolean): Predicate {
  let regex: RE2JS;
  try {
    regex = RE2JS.compile(pattern as string, caseInsensitive ? RE2JS.CASE_INSENSITIVE : 0);
  } catch {
    return never;
  }
  return (ctx) => {
    const value = resolveContextValue(ctx, field);
    if (value === undefined) return false;
    try {
      return regex.matcher(value).find();
    } catch {
      return false;
    }
  };
}

const numberTests = new Map<string, (a: number, b: number) => boolean>([
  ['NUM_EQ', (a, b) => a === b],
  ['NUM_GT', (a, b) => a > b],
  ['NUM_GTE', (a, b) => a >= b],
  ['NUM_LT', (a, b) => a < b],
  ['NUM_LTE', (a, b) => a <= b],
]);

function numberOperator(field: string, raw: unknown, test: (a: number, b: number) => boolean): Predicate {
  const target = Number(raw);
  if (Number.isNaN(target)) return never;
  // Number(undefined) is NaN but Number('') is 0, exactly as in the SDK.
  return (ctx) => {
    const value = Number(resolveContextValue(ctx, field));
    return !Number.isNaN(value) && test(value, target);
  };
}

function dateOperator(raw: unknown, after: boolean): Predicate {
  const target = new Date(raw as string).getTime();
  if (Number.isNaN(target)) return never;
  return (ctx, env) => {
    const now = ctx.currentTime ? new Date(ctx.currentTime).getTime() : env.now();
    return after ? now > target : now < target;
  };
}

const semverTests = new Map<string, (order: number) => boolean>([
  ['SEMVER_EQ', (order) => order === 0],
  ['SEMVER_GT', (order) => order > 0],
  ['SEMVER_GTE', (order) => order >= 0],
  ['SEMVER_LT', (order) => order < 0],
  ['SEMVER_LTE', (order) => order <= 0],
]);

function semverOperator(field: string, raw: unknown, test: (order: number) => boolean): Predicate {
  // The SDK throws (and answers false) when the constraint's own version is invalid.
  const target = semver.parse(raw as string);
  if (target === null) return never;
  return (ctx) => {
    const value = resolveContextValue(ctx, field);
    if (!value || value.startsWith('v')) return false;
    const version = semver.parse(value);
    return version !== null && test(version.compare(target));
  };
}

function cidrOperator(field: string, ranges: string[]): Predicate {
  const v4 = ranges.filter((r) => Address4.isValid(r)).map((r) => new Address4(r));
  const v6 = ranges.filter((r) => Address6.isValid(r)).map((r) => new Address6(r));
  return (ctx) => {
    const value = resolveContextValue(ctx, field);
    if (value === undefined) return false;
    if (Address4.isValid(value)) {
      const address = new Address4(value);
      return v4.some((range) => address.correctForm() === range.correctForm() || address.isInSubnet(range));
    }
    if (Address6.isValid(value)) {
      const address = new Address6(value);
      return v6.some((range) => address.correctForm() === range.correctForm() || address.isInSubnet(range));
    }
    return false;
  };
}

/** The operator's own predicate, before `inverted`; undefined for an operator this engine does not know. */
export function compileOperator(constraint: UnleashConstraint): Predicate | undefined {
  const { operator, contextName: field, value } = constraint;
  const caseInsensitive = Boolean(constraint.caseInsensitive);
  if (operator === 'IN' || operator === 'NOT_IN') {
    return inList(field, cleanValues(constraint.values), operator === 'NOT_IN');
  }
  const stringTest = stringTests.get(operator);
  if (stringTest) return stringOperator(field, cleanValues(constraint.values), stringTest, caseInsensitive);
  const numberTest = numberTests.get(operator);
  if (numberTest) return numberOperator(field, value, numberTest);
  const semverTest = semverTests.get(operator);
  if (semverTest) return semverOperator(field, value, semverTest);
  if (operator === 'DATE_AFTER' || operator === 'DATE_BEFORE')
    return dateOperator(value, operator === 'DATE_AFTER');
  if (operator === 'REGEX') return regexOperator(field, value, caseInsensitive);
  if (operator === 'IN_CIDR') return cidrOperator(field, cleanValues(constraint.values));
  return undefined;
}
