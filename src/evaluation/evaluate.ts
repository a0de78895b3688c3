// Evaluates flags of one feature set, result-identical to unleash-client's isEnabled + getVariant.
import { createSegmentLookup, type SegmentLookup } from './constraints.ts';
import { type CompiledStrategy, compileStrategy } from './strategies.ts';
import type {
  EvaluatedFlag,
  EvaluatedVariant,
  Evaluation,
  EvaluationEnv,
  EvaluationErrorCode,
  EvaluatorOptions,
  UnleashContext,
  UnleashFeature,
} from './types.ts';
import { compileVariants, type VariantPick, type VariantSelector } from './variants.ts';

interface CompiledDependency {
  feature: string;
  enabled: boolean;
  variants: readonly string[] | undefined;
}

interface CompiledFeature {
  name: string;
  enabled: boolean;
  impressionData: boolean;
  /** Set when the definition is malformed (strategies not a list): evaluates to an error, off. */
  parseError: boolean;
  hasStrategies: boolean;
  strategies: readonly CompiledStrategy[];
  variants: VariantSelector | undefined;
  dependencies: readonly CompiledDependency[];
}

export interface Evaluator {
  evaluate(name: string, context: UnleashContext): Evaluation;
  /** Every flag of the set, in document order. */
  evaluateAll(context: UnleashContext): EvaluatedFlag[];
}

const off = (reason: Evaluation['reason'], errorCode?: EvaluationErrorCode): Evaluation => {
  const result: Evaluation = {
    enabled: false,
    variant: { name: 'disabled', enabled: false, feature_enabled: false },
    reason,
  };
  if (errorCode) result.errorCode = errorCode;
  return result;
};

function compileDependencies(feature: UnleashFeature): CompiledDependency[] {
  if (!Array.isArray(feature.dependencies)) return [];
  return feature.dependencies.map((d) => {
    const enabled = d?.enabled !== false;
    // Variants only narrow a dependency on an enabled parent; with `enabled: false` the SDK ignores them.
    const variants =
      enabled && Array.isArray(d?.variants) && d.variants.length > 0 ? [...d.variants] : undefined;
    return { feature: d?.feature, enabled, variants };
  });
}

function compileFeature(feature: UnleashFeature, lookupSegment: SegmentLookup): CompiledFeature {
  const base = {
    name: feature.name,
    enabled: Boolean(feature.enabled),
    impressionData: feature.impressionData === true,
    dependencies: compileDependencies(feature),
  };
  if (!Array.isArray(feature.strategies)) {
    return { ...base, parseError: true, hasStrategies: false, strategies: [], variants: undefined };
  }
  const strategies: CompiledStrategy[] = [];
  for (const strategy of feature.strategies) {
    const compiled = compileStrategy(strategy, lookupSegment);
    if (compiled) strategies.push(compiled);
  }
  const variants = Array.isArray(feature.variants)
    ? compileVariants(feature.variants, feature.name, feature.variants[0]?.stickiness ?? undefined)
    : undefined;
  return { ...base, parseError: false, hasStrategies: feature.strategies.length > 0, strategies, variants };
}

function served(pick: VariantPick, reason: Evaluation['reason']): Evaluation {
  const { name, payload } = pick.variant;
  const variant: EvaluatedVariant = { name, enabled: true, feature_enabled: true };
  if (payload !== undefined) variant.payload = payload;
  if (pick.how === 'override') return { enabled: true, variant, reason: 'TARGETING_MATCH' };
  return { enabled: true, variant, reason: pick.how === 'split' ? 'SPLIT' : reason };
}

/**
 * The first matching strategy decides; its variants win over the feature's. The reason says why the
 * flag is on, sharpened by how the variant was chosen (an override targets, a weighted pick splits).
 */
function resolve(feature: CompiledFeature, ctx: UnleashContext, env: EvaluationEnv): Evaluation {
  let reason: Evaluation['reason'] = 'STATIC';
  if (feature.hasStrategies) {
    let matched: CompiledStrategy | undefined;
    for (const strategy of feature.strategies) {
      if (strategy.matches(ctx, env)) {
        matched = strategy;
        break;
      }
    }
    if (!matched) return off('DEFAULT');
    reason = matched.reason;
    const pick = matched.variants?.(ctx, env);
    if (pick) return served(pick, reason);
  }
  const pick = feature.variants?.(ctx, env);
  if (pick) return served(pick, reason);
  return { enabled: true, variant: { name: 'disabled', enabled: false, feature_enabled: true }, reason };
}

/**
 * Compiles the set once (segments, regexes, CIDR ranges, variant buckets) so each call only reads
 * the context. Duplicate names: the last definition wins, as in the SDK's repository.
 */
export function createEvaluator(features: readonly UnleashFeature[], options: EvaluatorOptions): Evaluator {
  const env: EvaluationEnv = { random: options.random, now: options.now, hostname: options.hostname };
  const lookupSegment = createSegmentLookup(options.segments);
  const compiled = new Map<string, CompiledFeature | null>();
  for (const feature of Array.isArray(features) ? features : []) {
    if (!feature || typeof feature !== 'object' || typeof feature.name !== 'string') continue;
    try {
      compiled.set(feature.name, compileFeature(feature, lookupSegment));
    } catch {
      compiled.set(feature.name, null);
    }
  }

  /** One level only: a parent that itself has dependencies never satisfies, as in the SDK. */
  const dependenciesHold = (feature: CompiledFeature, ctx: UnleashContext): boolean => {
    for (const dependency of feature.dependencies) {
      const parent = compiled.get(dependency.feature);
      if (!parent || parent.dependencies.length > 0) return false;
      const result = run(parent, ctx);
      const holds = dependency.variants
        ? result.variant.feature_enabled && dependency.variants.includes(result.variant.name)
        : result.enabled === dependency.enabled;
      if (!holds) return false;
    }
    return true;
  };

  const run = (feature: CompiledFeature | null, ctx: UnleashContext): Evaluation => {
    if (!feature) return off('ERROR', 'PARSE_ERROR');
    if (!feature.enabled) return off('DISABLED');
    if (feature.dependencies.length > 0 && !dependenciesHold(feature, ctx)) return off('DEFAULT');
    if (feature.parseError) return off('ERROR', 'PARSE_ERROR');
    return resolve(feature, ctx, env);
  };

  const evaluate = (name: string, context: UnleashContext): Evaluation => {
    const feature = compiled.get(name);
    if (feature === undefined) return off('ERROR', 'FLAG_NOT_FOUND');
    try {
      return run(feature, context ?? {});
    } catch {
      return off('ERROR', 'GENERAL');
    }
  };

  return {
    evaluate,
    evaluateAll(context) {
      const flags: EvaluatedFlag[] = [];
      for (const [name, feature] of compiled) {
        flags.push({ name, impressionData: feature?.impressionData ?? false, ...evaluate(name, context) });
      }
      return flags;
    },
  };
}

/** One flag on its own; `features` supplies the parents its dependencies name. Compiles on every call. */
export function evaluate(
  feature: UnleashFeature,
  context: UnleashContext,
  deps: EvaluatorOptions & { features?: readonly UnleashFeature[] },
): Evaluation {
  if (!feature || typeof feature !== 'object' || typeof feature.name !== 'string') {
    return off('ERROR', 'PARSE_ERROR');
  }
  return createEvaluator([...(deps.features ?? []), feature], deps).evaluate(feature.name, context);
}
