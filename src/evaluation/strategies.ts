// The activation strategies unleash-client ships, compiled once per feature strategy.
import { Address4 } from 'ip-address';
import { normalizedHash } from './bucket.ts';
import { compileConstraints, type SegmentLookup } from './constraints.ts';
import { resolveContextValue } from './context-value.ts';
import { never, type Predicate } from './operators.ts';
import type { EvaluationEnv, EvaluationReason, UnleashContext, UnleashStrategy } from './types.ts';
import { compileVariants, type VariantSelector } from './variants.ts';

type Parameters = Record<string, unknown>;

interface Activation {
  isEnabled: Predicate;
  /** Set for percentage strategies: below 100 the outcome is a split of the population. */
  percentage?: number;
  /** Strategies that pick users by who they are rather than by bucket or by nothing. */
  targeting?: boolean;
}

const LIST_SEPARATOR = /\s*,\s*/;

const randomId = (env: EvaluationEnv) => `${Math.round(env.random() * 10000) + 1}`;

function stickinessResolver(stickiness: string): (ctx: UnleashContext, env: EvaluationEnv) => unknown {
  if (stickiness === 'default') return (ctx, env) => ctx.userId || ctx.sessionId || randomId(env);
  if (stickiness === 'random') return (_ctx, env) => randomId(env);
  return (ctx) => resolveContextValue(ctx, stickiness);
}

function flexibleRollout(params: Parameters): Activation {
  const percentage = Number(params.rollout);
  if (!(percentage > 0)) return { isEnabled: never, percentage };
  const groupId = params.groupId;
  const resolve = stickinessResolver(String(params.stickiness || 'default'));
  return {
    percentage,
    isEnabled: (ctx, env) => {
      // A custom stickiness field the context lacks means "not in the rollout", never a random bucket.
      const id = resolve(ctx, env);
      if (!id) return false;
      if (percentage >= 100) return true;
      return normalizedHash(`${id}`, `${groupId || ctx.featureToggle || ''}`) <= percentage;
    },
  };
}

function gradualRolloutBy(field: 'userId' | 'sessionId') {
  return (params: Parameters): Activation => {
    const percentage = Number(params.percentage);
    const groupId = `${params.groupId || ''}`;
    if (!(percentage > 0)) return { isEnabled: never, percentage };
    return {
      percentage,
      isEnabled: (ctx) => {
        const id = ctx[field];
        return Boolean(id) && normalizedHash(`${id}`, groupId) <= percentage;
      },
    };
  };
}

function gradualRolloutRandom(params: Parameters): Activation {
  const percentage = Number(params.percentage);
  return { percentage, isEnabled: (_ctx, env) => percentage >= Math.floor(env.random() * 100) + 1 };
}

function userWithId(params: Parameters): Activation {
  const ids = new Set(params.userIds ? String(params.userIds).split(LIST_SEPARATOR) : []);
  return { targeting: true, isEnabled: (ctx) => ctx.userId !== undefined && ids.has(ctx.userId) };
}

function parseAddress4(address: string): Address4 | null {
  try {
    return new Address4(address);
  } catch {
    return null;
  }
}

function remoteAddress(params: Parameters): Activation {
  if (!params.IPs) return { targeting: true, isEnabled: never };
  const ranges = String(params.IPs)
    .split(LIST_SEPARATOR)
    .map((raw) => ({ raw, subnet: parseAddress4(raw) }));
  return {
    targeting: true,
    isEnabled: (ctx) => {
      let address: Address4 | null | undefined;
      for (const { raw, subnet } of ranges) {
        if (raw === ctx.remoteAddress) return true;
        if (!subnet) continue;
        if (address === undefined) address = parseAddress4(ctx.remoteAddress || '');
        if (address?.isInSubnet(subnet)) return true;
      }
      return false;
    },
  };
}

function applicationHostname(params: Parameters): Activation {
  if (!params.hostNames) return { targeting: true, isEnabled: never };
  const names = new Set(String(params.hostNames).toLowerCase().split(LIST_SEPARATOR));
  return {
    targeting: true,
    isEnabled: (_ctx, env) => env.hostname !== undefined && names.has(env.hostname.toLowerCase()),
  };
}

const builders = new Map<string, (params: Parameters) => Activation>([
  ['default', () => ({ isEnabled: () => true })],
  ['flexibleRollout', flexibleRollout],
  ['gradualRolloutUserId', gradualRolloutBy('userId')],
  ['gradualRolloutSessionId', gradualRolloutBy('sessionId')],
  ['gradualRolloutRandom', gradualRolloutRandom],
  ['userWithId', userWithId],
  ['remoteAddress', remoteAddress],
  ['applicationHostname', applicationHostname],
]);

export interface CompiledStrategy {
  /** Constraints, segments and the strategy's own rule together. */
  matches: Predicate;
  /** Why a match is on: a partial percentage is a split, a rule about the user is targeting. */
  reason: Exclude<EvaluationReason, 'DISABLED' | 'DEFAULT' | 'ERROR'>;
  variants: VariantSelector | undefined;
}

/** Undefined for a strategy this engine does not know: the SDK skips those, so they never match. */
export function compileStrategy(
  strategy: UnleashStrategy,
  lookupSegment: SegmentLookup,
): CompiledStrategy | undefined {
  const build = builders.get(strategy.name);
  if (!build) return undefined;
  const params: Parameters =
    strategy.parameters && typeof strategy.parameters === 'object' ? strategy.parameters : {};
  const activation = build(params);
  const constraints = compileConstraints(strategy.constraints, strategy.segments, lookupSegment);
  const { isEnabled } = activation;
  const matches: Predicate = constraints
    ? (ctx, env) => constraints(ctx, env) && isEnabled(ctx, env)
    : isEnabled;

  const split = activation.percentage !== undefined && activation.percentage < 100;
  const reason = split ? 'SPLIT' : activation.targeting || constraints ? 'TARGETING_MATCH' : 'STATIC';
  const first = Array.isArray(strategy.variants) ? strategy.variants[0] : undefined;
  const stickiness = first?.stickiness || (params.stickiness as string | undefined);
  const variants = compileVariants(strategy.variants, `${params.groupId}`, stickiness);
  return { matches, reason, variants };
}
