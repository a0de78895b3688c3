// A deterministic evaluation environment for tests: seeded randomness, a fixed clock, a known host.
import type { EvaluatorOptions } from '../../src/evaluation/types.ts';
import { seededRandom as seeded } from '../../src/random.ts';

/** Seeded randomness, seed 1 by default: exercises random stickiness reproducibly. */
export const seededRandom = (seed = 1) => seeded(seed);

export const FIXED_NOW = Date.parse('2026-01-01T00:00:00Z');

export function testEnv(overrides: Partial<EvaluatorOptions> = {}): EvaluatorOptions {
  return { random: seededRandom(), now: () => FIXED_NOW, hostname: 'rollgate-test-host', ...overrides };
}
