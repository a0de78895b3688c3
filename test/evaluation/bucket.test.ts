// Bucketing against unleash-client's own normalizedStrategyValue / normalizedVariantValue.
import { normalizedStrategyValue, normalizedVariantValue } from 'unleash-client/lib/strategy/util.js';
import { describe, expect, it } from 'vitest';
import { normalizedHash, STRATEGY_SEED, VARIANT_SEED } from '../../src/evaluation/bucket.ts';
import { seededRandom } from './env.ts';

const ids = [
  '174',
  '499',
  'user-1',
  '',
  'ü',
  'José',
  '田中',
  'user-😀',
  'a@b.c',
  '123e4567-e89b-12d3-a456-426614174000',
];

describe('normalizedHash', () => {
  it('buckets rollout percentages exactly as unleash-client does', () => {
    for (const groupId of ['Feature.flexibleRollout.10', 'pricing-offer', 'ünïcode', '']) {
      for (const id of ids) expect(normalizedHash(id, groupId)).toBe(normalizedStrategyValue(id, groupId));
    }
  });

  it('buckets variants exactly as unleash-client does, for any total weight', () => {
    const random = seededRandom(3);
    for (let i = 0; i < 2000; i++) {
      const id = `${ids[i % ids.length]}-${Math.floor(random() * 1e6)}`;
      const total = 1 + Math.floor(random() * 1000);
      expect(normalizedHash(id, 'checkout', total, VARIANT_SEED)).toBe(
        normalizedVariantValue(id, 'checkout', total),
      );
    }
  });

  it('places the spec users on either side of a 10 % rollout', () => {
    expect(normalizedHash('174', 'Feature.flexibleRollout.10')).toBeLessThanOrEqual(10);
    expect(normalizedHash('499', 'Feature.flexibleRollout.10')).toBeGreaterThan(10);
  });

  it('returns a bucket from 1 to the normalizer inclusive', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 5000; i++) {
      const bucket = normalizedHash(`user-${i}`, 'group', 100, STRATEGY_SEED);
      expect(bucket).toBeGreaterThanOrEqual(1);
      expect(bucket).toBeLessThanOrEqual(100);
      seen.add(bucket);
    }
    expect(seen.size).toBe(100);
  });

  it('spreads users evenly enough that a 25 % rollout holds about a quarter of them', () => {
    let inside = 0;
    for (let i = 0; i < 20000; i++) if (normalizedHash(`user-${i}`, 'rollout') <= 25) inside++;
    expect(inside / 20000).toBeGreaterThan(0.24);
    expect(inside / 20000).toBeLessThan(0.26);
  });
});
