// Variant selection (feature-level and strategy variants): overrides first, then weighted buckets.
import { normalizedHash, VARIANT_SEED } from './bucket.ts';
import { resolveContextValue } from './context-value.ts';
import type {
  EvaluationEnv,
  UnleashContext,
  UnleashPayload,
  UnleashStrategyVariant,
  UnleashVariant,
} from './types.ts';

type VariantDefinition = UnleashVariant | UnleashStrategyVariant;

/** Frozen copies, so a caller editing a result cannot change what later evaluations serve. */
export interface ServedVariant {
  readonly name: string;
  readonly payload?: Readonly<UnleashPayload>;
}

export interface VariantPick {
  readonly variant: ServedVariant;
  /** `override` matched a context value; `split` bucketed among several weighted variants. */
  readonly how: 'override' | 'split' | 'single';
}

export type VariantSelector = (context: UnleashContext, env: EvaluationEnv) => VariantPick | null;

interface CompiledOverride {
  field: string;
  values: ReadonlySet<string>;
}

const DEFAULT_STICKINESS_FIELDS = ['userId', 'sessionId', 'remoteAddress'] as const;

/** The value variants are bucketed by; a random one when the context has none, as in the SDK. */
function stickinessValue(context: UnleashContext, stickiness: string, env: EvaluationEnv): string {
  if (stickiness !== 'default') {
    return resolveContextValue(context, stickiness) || String(Math.round(env.random() * 100000));
  }
  for (const field of DEFAULT_STICKINESS_FIELDS) {
    const value = context[field];
    if (typeof value === 'string' && value !== '') return value;
  }
  return String(Math.round(env.random() * 100000));
}

function served(definition: VariantDefinition): ServedVariant {
  const { name, payload } = definition;
  if (!payload || typeof payload !== 'object') return Object.freeze({ name });
  return Object.freeze({ name, payload: Object.freeze({ type: payload.type, value: payload.value }) });
}

function compileOverrides(variant: VariantDefinition): CompiledOverride[] {
  const overrides = 'overrides' in variant ? variant.overrides : undefined;
  if (!Array.isArray(overrides)) return [];
  return overrides
    .filter((o) => o && typeof o === 'object')
    .map((o) => ({ field: o.contextName, values: new Set(Array.isArray(o.values) ? o.values : []) }));
}

/**
 * Undefined when there are no variants. Weights are summed and accumulated with the SDK's own
 * arithmetic so that odd weights (zero, missing) pick the same variant it would.
 */
export function compileVariants(
  definitions: readonly VariantDefinition[] | null | undefined,
  groupId: string,
  stickiness: string | undefined,
): VariantSelector | undefined {
  if (!Array.isArray(definitions) || definitions.length === 0) return undefined;
  const variants = definitions.filter((v): v is VariantDefinition => Boolean(v) && typeof v === 'object');
  let totalWeight = 0;
  for (const v of variants) totalWeight += v.weight;
  if (totalWeight <= 0) return () => null;

  const withOverrides = variants
    .map((variant) => ({
      pick: Object.freeze({ variant: served(variant), how: 'override' as const }),
      overrides: compileOverrides(variant),
    }))
    .filter((entry) => entry.overrides.length > 0);
  const weighted = variants.filter((variant) => variant.weight !== 0);
  const how = weighted.length > 1 ? 'split' : 'single';
  const buckets: Array<{ upTo: number; pick: VariantPick }> = [];
  let counter = 0;
  for (const variant of weighted) {
    counter += variant.weight;
    buckets.push({ upTo: counter, pick: Object.freeze({ variant: served(variant), how }) });
  }
  const stickyBy = stickiness === undefined ? 'default' : stickiness;

  return (ctx, env) => {
    for (const { pick, overrides } of withOverrides) {
      for (const { field, values } of overrides) {
        const value = resolveContextValue(ctx, field);
        if (value !== undefined && values.has(value)) return pick;
      }
    }
    const target = normalizedHash(stickinessValue(ctx, stickyBy, env), groupId, totalWeight, VARIANT_SEED);
    for (const bucket of buckets) {
      if (!(bucket.upTo < target)) return bucket.pick;
    }
    return null;
  };
}
