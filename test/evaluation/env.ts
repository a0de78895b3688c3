// A deterministic evaluation environment for tests: seeded randomness, a fixed clock, a known host.
import type { EvaluatorOptions } from '../../src/evaluation/types.ts';

/** mulberry32: small, fast, and good enough to exercise random stickiness reproducibly. */
export function seededRandom(seed = 1): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const FIXED_NOW = Date.parse('2026-01-01T00:00:00Z');

export function testEnv(overrides: Partial<EvaluatorOptions> = {}): EvaluatorOptions {
  return { random: seededRandom(), now: () => FIXED_NOW, hostname: 'rollgate-test-host', ...overrides };
}
