// Bucketing: where a stickiness value falls in a group, identical to the Unleash SDKs.
import { murmurHash3 } from './murmur.ts';

/** Seed for rollout percentages (flexibleRollout, gradualRollout*). */
export const STRATEGY_SEED = 0;
/** Seed for variant selection, so variant and rollout buckets are independent. */
export const VARIANT_SEED = 86028157;

/** 1..normalizer: the bucket of `id` within `groupId` (a flag name or a strategy's groupId). */
export function normalizedHash(id: string, groupId: string, normalizer = 100, seed = STRATEGY_SEED): number {
  return (murmurHash3(`${groupId}:${id}`, seed) % normalizer) + 1;
}
